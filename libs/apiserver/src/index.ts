export { ApiServer, ApiServerOptions, ApiMetrics, TABLE_MEDIA_TYPE } from './http';
export { Authenticator, Authorizer, ADMIN, type ResourceAttributes } from './auth';
export { ResourceStore, RaceLost } from './resource-store';
export type { RequestContext, UserInfo } from './context';
export { bootstrapCluster, runNamespaceFinalizer } from './bootstrap';
