// One origin fetch per cache key at a time. The first request for a missing key leads (it creates
// the Flight); requests that arrive while it is under way join it and read the same bytes. When the
// response turns out not to be storable the flight is abandoned with `Uncacheable`: joiners then go
// to the origin on their own, never sharing one client's private answer with another. The map is
// bounded: past `max` flights at once, a new fetch is not registered (it runs alone, uncoalesced).
import { Flight } from './flight.js';

export class Uncacheable extends Error {
  constructor(readonly reason: string) {
    super(`response not storable (${reason})`);
    this.name = 'Uncacheable';
  }
}

export class SingleFlight {
  private readonly flights = new Map<string, Flight>();
  /** Fetches that ran uncoalesced because `max` flights were under way. */
  overflowed = 0;

  constructor(readonly max = 10_000) {}

  get(key: string): Flight | undefined {
    return this.flights.get(key);
  }

  /** Starts a new flight for `key` (the caller is its leader). */
  begin(key: string): Flight {
    const flight = new Flight(key);
    if (this.flights.size < this.max) this.flights.set(key, flight);
    else this.overflowed++;
    return flight;
  }

  /** Removes the flight once no new request should join it (stored, abandoned or failed). */
  finish(flight: Flight): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
  }

  get size(): number {
    return this.flights.size;
  }

  all(): IterableIterator<Flight> {
    return this.flights.values();
  }
}
