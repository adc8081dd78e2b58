// The distinct Vary lists the object index has seen, each stored once and named by a 16-bit id
// (id 0: the response does not vary). Origins send few distinct lists; the table is bounded, and
// an object whose list would not fit is not stored (counted as too-many-variants).

/** Most distinct Vary lists kept. */
export const MAX_VARY_LISTS = 4096;

export class VaryTable {
  private lists: (readonly string[])[] = [[]];
  private readonly ids = new Map<string, number>([['', 0]]);
  /** Called when a list gets an id (the disk tier journals it before any entry uses it). */
  onNew: ((id: number, names: readonly string[]) => void) | undefined;

  /** The id of a (sorted) list of field names, -1 when the table is full. */
  id(names: readonly string[]): number {
    if (names.length === 0) return 0;
    const joined = names.join('\n');
    let id = this.ids.get(joined);
    if (id !== undefined) return id;
    if (this.lists.length > MAX_VARY_LISTS) return -1;
    id = this.lists.length;
    this.set(id, names);
    this.onNew?.(id, names);
    return id;
  }

  names(id: number): readonly string[] {
    return this.lists[id] ?? [];
  }

  /** Restores a list under a known id (a snapshot or a journal record). */
  set(id: number, names: readonly string[]): void {
    while (this.lists.length < id) this.lists.push([]);
    this.lists[id] = [...names];
    this.ids.set(names.join('\n'), id);
  }

  all(): (readonly string[])[] {
    return this.lists;
  }

  get size(): number {
    return this.lists.length;
  }

  bytes(): number {
    let n = 0;
    for (const l of this.lists) n += 96 + l.join('\n').length * 2;
    return n;
  }

  clear(): void {
    this.lists = [[]];
    this.ids.clear();
    this.ids.set('', 0);
  }
}
