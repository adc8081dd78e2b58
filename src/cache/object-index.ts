// Which stored objects belong to a host or carry a tag. Purges by host, prefix or tag look up
// their keys here instead of scanning the cache, and a hit pays nothing for it: the index is
// touched only when an object is stored, removed or evicted.

export interface Indexed {
  host: string;
  primary: string;
  tags: readonly string[];
  immutable: boolean;
}

function addTo(map: Map<string, Set<string>>, name: string, key: string): void {
  let set = map.get(name);
  if (set === undefined) {
    set = new Set();
    map.set(name, set);
  }
  set.add(key);
}

function removeFrom(map: Map<string, Set<string>>, name: string, key: string): void {
  const set = map.get(name);
  if (set === undefined) return;
  set.delete(key);
  if (set.size === 0) map.delete(name);
}

export class ObjectIndex {
  private readonly byKey = new Map<string, Indexed>();
  private readonly byHost = new Map<string, Set<string>>();
  private readonly byTag = new Map<string, Set<string>>();

  add(key: string, entry: Indexed): void {
    this.remove(key);
    this.byKey.set(key, entry);
    addTo(this.byHost, entry.host, key);
    for (const tag of entry.tags) addTo(this.byTag, tag, key);
  }

  remove(key: string): void {
    const entry = this.byKey.get(key);
    if (entry === undefined) return;
    this.byKey.delete(key);
    removeFrom(this.byHost, entry.host, key);
    for (const tag of entry.tags) removeFrom(this.byTag, tag, key);
  }

  get(key: string): Indexed | undefined {
    return this.byKey.get(key);
  }

  keysForHost(host: string): string[] {
    return [...(this.byHost.get(host) ?? [])];
  }

  keysForTag(tag: string): string[] {
    return [...(this.byTag.get(tag) ?? [])];
  }

  get size(): number {
    return this.byKey.size;
  }

  get tags(): number {
    return this.byTag.size;
  }
}
