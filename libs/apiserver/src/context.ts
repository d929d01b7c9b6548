export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** Who is asking, on which branch, and how: everything a write records beside the object. */
export interface RequestContext {
  user: UserInfo;
  branch: string;
  now: Date;
  userAgent?: string;
  requestId?: string;
  /** The revision that made a controller act; empty for user writes. */
  cause?: number;
}
