export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** Who is asking, on which branch, and how: everything a write records beside the object. */
export interface RequestContext {
  user: UserInfo;
  branch: string;
  /** Set when the request addresses a past revision (`/branches/B/revisions/R/...`): read-only. */
  revision?: number;
  now: Date;
  userAgent?: string;
  requestId?: string;
  /** The revision that made a controller act; empty for user writes. */
  cause?: number;
  /**
   * Called when the write reaches the event store's queue, before it commits: a controller issuing
   * several writes in a fixed order starts the next one then (see the controllers' WriteSequence).
   */
  onSequenced?: () => void;
}
