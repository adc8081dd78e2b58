// A domain list the platform keeps outside the config: "is this host one of ours?". HostPolicy asks
// its sources in order before a certificate is obtained for a host (and the request path may ask
// before forwarding). A source answers for one normalised host; it throws when it cannot answer,
// and the caller decides what an unanswerable question means (HostPolicy: no).

export interface DomainSource {
  /** Names the source in logs and the admin API, e.g. `redis` or `ask https://…`. */
  readonly name: string;
  /** True when `host` (already normalised, see normaliseHost) is on the list. */
  lookup(host: string): Promise<boolean>;
  close?(): Promise<void>;
}
