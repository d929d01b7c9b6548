/** Message layouts of the named API groups kubetime serves (notation in ./notation.ts). */
import type { MessageTable } from './notation';

export const APPS_V1: MessageTable = {
  Deployment: 'metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus',
  DeploymentSpec:
    'replicas=1:int32 selector=2:LabelSelector template=3:PodTemplateSpec strategy=4:DeploymentStrategy ' +
    'minReadySeconds=5:int32? revisionHistoryLimit=6:int32 paused=7:bool? progressDeadlineSeconds=9:int32',
  DeploymentStrategy: 'type=1 rollingUpdate=2:RollingUpdateDeployment',
  RollingUpdateDeployment: 'maxUnavailable=1:IntOrString maxSurge=2:IntOrString',
  DeploymentStatus:
    'observedGeneration=1:int64? replicas=2:int32? updatedReplicas=3:int32? readyReplicas=7:int32? ' +
    'availableReplicas=4:int32? unavailableReplicas=5:int32? terminatingReplicas=9:int32 ' +
    'conditions=6:[DeploymentCondition] collisionCount=8:int32',
  DeploymentCondition: 'type=1 status=2 lastUpdateTime=6:Time lastTransitionTime=7:Time reason=4 message=5',
  ReplicaSet: 'metadata=1:ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus',
  ReplicaSetSpec:
    'replicas=1:int32 minReadySeconds=4:int32? selector=2:LabelSelector template=3:PodTemplateSpec',
  ReplicaSetStatus:
    'replicas=1:int32 fullyLabeledReplicas=2:int32? readyReplicas=4:int32? availableReplicas=5:int32? ' +
    'terminatingReplicas=7:int32 observedGeneration=3:int64? conditions=6:[ReplicaSetCondition]',
  ReplicaSetCondition: 'type=1 status=2 lastTransitionTime=3:Time reason=4 message=5',
  DaemonSet: 'metadata=1:ObjectMeta spec=2:DaemonSetSpec status=3:DaemonSetStatus',
  DaemonSetSpec:
    'selector=1:LabelSelector template=2:PodTemplateSpec updateStrategy=3:DaemonSetUpdateStrategy ' +
    'minReadySeconds=4:int32? revisionHistoryLimit=6:int32',
  DaemonSetUpdateStrategy: 'type=1 rollingUpdate=2:RollingUpdateDaemonSet',
  RollingUpdateDaemonSet: 'maxUnavailable=1:IntOrString maxSurge=2:IntOrString',
  DaemonSetStatus:
    'currentNumberScheduled=1:int32 numberMisscheduled=2:int32 desiredNumberScheduled=3:int32 numberReady=4:int32 ' +
    'observedGeneration=5:int64? updatedNumberScheduled=6:int32? numberAvailable=7:int32? numberUnavailable=8:int32? ' +
    'collisionCount=9:int32 conditions=10:[DaemonSetCondition]',
  DaemonSetCondition: 'type=1 status=2 lastTransitionTime=3:Time reason=4 message=5',
  StatefulSet: 'metadata=1:ObjectMeta spec=2:StatefulSetSpec status=3:StatefulSetStatus',
  StatefulSetSpec:
    'replicas=1:int32 selector=2:LabelSelector template=3:PodTemplateSpec volumeClaimTemplates=4:[PersistentVolumeClaim] ' +
    'serviceName=5 podManagementPolicy=6 updateStrategy=7:StatefulSetUpdateStrategy revisionHistoryLimit=8:int32 ' +
    'minReadySeconds=9:int32? persistentVolumeClaimRetentionPolicy=10:StatefulSetPersistentVolumeClaimRetentionPolicy ' +
    'ordinals=11:StatefulSetOrdinals',
  StatefulSetUpdateStrategy: 'type=1 rollingUpdate=2:RollingUpdateStatefulSetStrategy',
  RollingUpdateStatefulSetStrategy: 'partition=1:int32 maxUnavailable=2:IntOrString',
  StatefulSetPersistentVolumeClaimRetentionPolicy: 'whenDeleted=1 whenScaled=2',
  StatefulSetOrdinals: 'start=1:int32?',
  StatefulSetStatus:
    'observedGeneration=1:int64? replicas=2:int32 readyReplicas=3:int32? currentReplicas=4:int32? ' +
    'updatedReplicas=5:int32? currentRevision=6 updateRevision=7 collisionCount=9:int32 ' +
    'conditions=10:[StatefulSetCondition] availableReplicas=11:int32',
  StatefulSetCondition: 'type=1 status=2 lastTransitionTime=3:Time reason=4 message=5',
  ControllerRevision: 'metadata=1:ObjectMeta data=2:RawExtension revision=3:int64',
};

export const AUTOSCALING_V1: MessageTable = {
  HorizontalPodAutoscaler:
    'metadata=1:ObjectMeta spec=2:HorizontalPodAutoscalerSpec status=3:HorizontalPodAutoscalerStatus',
  HorizontalPodAutoscalerSpec:
    'scaleTargetRef=1:CrossVersionObjectReference minReplicas=2:int32 maxReplicas=3:int32 ' +
    'targetCPUUtilizationPercentage=4:int32',
  CrossVersionObjectReference: 'kind=1 name=2 apiVersion=3',
  HorizontalPodAutoscalerStatus:
    'observedGeneration=1:int64 lastScaleTime=2:Time currentReplicas=3:int32 desiredReplicas=4:int32 ' +
    'currentCPUUtilizationPercentage=5:int32',
  Scale: 'metadata=1:ObjectMeta spec=2:ScaleSpec status=3:ScaleStatus',
  ScaleSpec: 'replicas=1:int32?',
  ScaleStatus: 'replicas=1:int32 selector=2',
};

export const AUTOSCALING_V2: MessageTable = {
  HorizontalPodAutoscaler:
    'metadata=1:ObjectMeta spec=2:HorizontalPodAutoscalerSpec status=3:HorizontalPodAutoscalerStatus',
  HorizontalPodAutoscalerSpec:
    'scaleTargetRef=1:CrossVersionObjectReference minReplicas=2:int32 maxReplicas=3:int32 metrics=4:[MetricSpec] ' +
    'behavior=5:HorizontalPodAutoscalerBehavior',
  CrossVersionObjectReference: 'kind=1 name=2 apiVersion=3',
  MetricSpec:
    'type=1 object=2:ObjectMetricSource pods=3:PodsMetricSource resource=4:ResourceMetricSource ' +
    'containerResource=7:ContainerResourceMetricSource external=5:ExternalMetricSource',
  ObjectMetricSource:
    'describedObject=1:CrossVersionObjectReference target=2:MetricTarget metric=3:MetricIdentifier',
  PodsMetricSource: 'metric=1:MetricIdentifier target=2:MetricTarget',
  ResourceMetricSource: 'name=1 target=2:MetricTarget',
  ContainerResourceMetricSource: 'name=1 target=2:MetricTarget container=3',
  ExternalMetricSource: 'metric=1:MetricIdentifier target=2:MetricTarget',
  MetricIdentifier: 'name=1 selector=2:LabelSelector',
  MetricTarget: 'type=1 value=2:Quantity averageValue=3:Quantity averageUtilization=4:int32',
  HorizontalPodAutoscalerBehavior: 'scaleUp=1:HPAScalingRules scaleDown=2:HPAScalingRules',
  HPAScalingRules:
    'stabilizationWindowSeconds=3:int32 selectPolicy=1 policies=2:[HPAScalingPolicy] tolerance=4:Quantity',
  HPAScalingPolicy: 'type=1 value=2:int32 periodSeconds=3:int32',
  HorizontalPodAutoscalerStatus:
    'observedGeneration=1:int64 lastScaleTime=2:Time currentReplicas=3:int32? desiredReplicas=4:int32 ' +
    'currentMetrics=5:[MetricStatus] conditions=6:[HorizontalPodAutoscalerCondition]',
  HorizontalPodAutoscalerCondition: 'type=1 status=2 lastTransitionTime=3:Time reason=4 message=5',
  MetricStatus:
    'type=1 object=2:ObjectMetricStatus pods=3:PodsMetricStatus resource=4:ResourceMetricStatus ' +
    'containerResource=7:ContainerResourceMetricStatus external=5:ExternalMetricStatus',
  ObjectMetricStatus:
    'metric=1:MetricIdentifier current=2:MetricValueStatus describedObject=3:CrossVersionObjectReference',
  PodsMetricStatus: 'metric=1:MetricIdentifier current=2:MetricValueStatus',
  ResourceMetricStatus: 'name=1 current=2:MetricValueStatus',
  ContainerResourceMetricStatus: 'name=1 current=2:MetricValueStatus container=3',
  ExternalMetricStatus: 'metric=1:MetricIdentifier current=2:MetricValueStatus',
  MetricValueStatus: 'value=1:Quantity averageValue=2:Quantity averageUtilization=3:int32',
};

export const BATCH_V1: MessageTable = {
  Job: 'metadata=1:ObjectMeta spec=2:JobSpec status=3:JobStatus',
  JobSpec:
    'parallelism=1:int32 completions=2:int32 activeDeadlineSeconds=3:int64 podFailurePolicy=11:PodFailurePolicy ' +
    'successPolicy=16:SuccessPolicy backoffLimit=7:int32 backoffLimitPerIndex=12:int32 maxFailedIndexes=13:int32 ' +
    'selector=4:LabelSelector manualSelector=5:bool template=6:PodTemplateSpec ttlSecondsAfterFinished=8:int32 ' +
    'completionMode=9 suspend=10:bool podReplacementPolicy=14 managedBy=15',
  PodFailurePolicy: 'rules=1:[PodFailurePolicyRule]',
  PodFailurePolicyRule:
    'action=1 onExitCodes=2:PodFailurePolicyOnExitCodesRequirement onPodConditions=3:[PodFailurePolicyOnPodConditionsPattern]',
  PodFailurePolicyOnExitCodesRequirement: 'containerName=1 operator=2 values=3:[int32]',
  PodFailurePolicyOnPodConditionsPattern: 'type=1 status=2',
  SuccessPolicy: 'rules=1:[SuccessPolicyRule]',
  SuccessPolicyRule: 'succeededIndexes=1 succeededCount=2:int32',
  JobStatus:
    'conditions=1:[JobCondition] startTime=2:Time completionTime=3:Time active=4:int32? succeeded=5:int32? ' +
    'failed=6:int32? terminating=11:int32 completedIndexes=7 failedIndexes=10 ' +
    'uncountedTerminatedPods=8:UncountedTerminatedPods ready=9:int32',
  JobCondition: 'type=1 status=2 lastProbeTime=3:Time lastTransitionTime=4:Time reason=5 message=6',
  UncountedTerminatedPods: 'succeeded=1:[string] failed=2:[string]',
  CronJob: 'metadata=1:ObjectMeta spec=2:CronJobSpec status=3:CronJobStatus',
  CronJobSpec:
    'schedule=1 timeZone=8 startingDeadlineSeconds=2:int64 concurrencyPolicy=3 suspend=4:bool ' +
    'jobTemplate=5:JobTemplateSpec successfulJobsHistoryLimit=6:int32 failedJobsHistoryLimit=7:int32',
  JobTemplateSpec: 'metadata=1:ObjectMeta spec=2:JobSpec',
  CronJobStatus: 'active=1:[ObjectReference] lastScheduleTime=4:Time lastSuccessfulTime=5:Time',
};

export const COORDINATION_V1: MessageTable = {
  Lease: 'metadata=1:ObjectMeta spec=2:LeaseSpec',
  LeaseSpec:
    'holderIdentity=1 leaseDurationSeconds=2:int32 acquireTime=3:MicroTime renewTime=4:MicroTime ' +
    'leaseTransitions=5:int32 strategy=6 preferredHolder=7',
};

export const DISCOVERY_V1: MessageTable = {
  EndpointSlice: 'metadata=1:ObjectMeta addressType=4 endpoints=2:[Endpoint] ports=3:[EndpointPort]',
  Endpoint:
    'addresses=1:[string] conditions=2:EndpointConditions hostname=3 targetRef=4:ObjectReference ' +
    'deprecatedTopology=5:{string} nodeName=6 zone=7 hints=8:EndpointHints',
  EndpointConditions: 'ready=1:bool serving=2:bool terminating=3:bool',
  EndpointHints: 'forZones=1:[ForZone] forNodes=2:[ForNode]',
  ForZone: 'name=1',
  ForNode: 'name=1',
  EndpointPort: 'name=1 protocol=2 port=3:int32 appProtocol=4',
};

export const EVENTS_V1: MessageTable = {
  Event:
    'metadata=1:ObjectMeta eventTime=2:MicroTime series=3:EventSeries reportingController=4 reportingInstance=5 ' +
    'action=6 reason=7 regarding=8:ObjectReference related=9:ObjectReference note=10 type=11 ' +
    'deprecatedSource=12:EventSource deprecatedFirstTimestamp=13:Time deprecatedLastTimestamp=14:Time ' +
    'deprecatedCount=15:int32?',
  EventSeries: 'count=1:int32 lastObservedTime=2:MicroTime',
};

export const NETWORKING_V1: MessageTable = {
  Ingress: 'metadata=1:ObjectMeta spec=2:IngressSpec status=3:IngressStatus',
  IngressSpec: 'ingressClassName=4 defaultBackend=1:IngressBackend tls=2:[IngressTLS] rules=3:[IngressRule]',
  IngressBackend: 'service=4:IngressServiceBackend resource=3:TypedLocalObjectReference',
  IngressServiceBackend: 'name=1 port=2:ServiceBackendPort',
  ServiceBackendPort: 'name=1 number=2:int32?',
  IngressTLS: 'hosts=1:[string] secretName=2',
  IngressRule: 'host=1 ...ingressRuleValue=2:IngressRuleValue',
  IngressRuleValue: 'http=1:HTTPIngressRuleValue',
  HTTPIngressRuleValue: 'paths=1:[HTTPIngressPath]',
  HTTPIngressPath: 'path=1 pathType=3 backend=2:IngressBackend',
  IngressStatus: 'loadBalancer=1:IngressLoadBalancerStatus',
  IngressLoadBalancerStatus: 'ingress=1:[IngressLoadBalancerIngress]',
  IngressLoadBalancerIngress: 'ip=1 hostname=2 ports=4:[IngressPortStatus]',
  IngressPortStatus: 'port=1:int32 protocol=2 error=3',
  IngressClass: 'metadata=1:ObjectMeta spec=2:IngressClassSpec',
  IngressClassSpec: 'controller=1 parameters=2:IngressClassParametersReference',
  IngressClassParametersReference: 'apiGroup=1 kind=2 name=3 scope=4 namespace=5',
  NetworkPolicy: 'metadata=1:ObjectMeta spec=2:NetworkPolicySpec',
  NetworkPolicySpec:
    'podSelector=1:LabelSelector ingress=2:[NetworkPolicyIngressRule] egress=3:[NetworkPolicyEgressRule] ' +
    'policyTypes=4:[string]',
  NetworkPolicyIngressRule: 'ports=1:[NetworkPolicyPort] from=2:[NetworkPolicyPeer]',
  NetworkPolicyEgressRule: 'ports=1:[NetworkPolicyPort] to=2:[NetworkPolicyPeer]',
  NetworkPolicyPort: 'protocol=1 port=2:IntOrString endPort=3:int32',
  NetworkPolicyPeer: 'podSelector=1:LabelSelector namespaceSelector=2:LabelSelector ipBlock=3:IPBlock',
  IPBlock: 'cidr=1 except=2:[string]',
};

export const POLICY_V1: MessageTable = {
  PodDisruptionBudget:
    'metadata=1:ObjectMeta spec=2:PodDisruptionBudgetSpec status=3:PodDisruptionBudgetStatus',
  PodDisruptionBudgetSpec:
    'minAvailable=1:IntOrString selector=2:LabelSelector maxUnavailable=3:IntOrString unhealthyPodEvictionPolicy=4',
  PodDisruptionBudgetStatus:
    'observedGeneration=1:int64? disruptedPods=2:{Time} disruptionsAllowed=3:int32 currentHealthy=4:int32 ' +
    'desiredHealthy=5:int32 expectedPods=6:int32 conditions=7:[Condition]',
  Eviction: 'metadata=1:ObjectMeta deleteOptions=2:DeleteOptions',
};

export const RBAC_V1: MessageTable = {
  Role: 'metadata=1:ObjectMeta rules=2:[PolicyRule]',
  ClusterRole: 'metadata=1:ObjectMeta rules=2:[PolicyRule] aggregationRule=3:AggregationRule',
  PolicyRule:
    'verbs=1:[string] apiGroups=2:[string] resources=3:[string] resourceNames=4:[string] nonResourceURLs=5:[string]',
  AggregationRule: 'clusterRoleSelectors=1:[LabelSelector]',
  RoleBinding: 'metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef',
  ClusterRoleBinding: 'metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef',
  Subject: 'kind=1 apiGroup=2 name=3 namespace=4',
  RoleRef: 'apiGroup=1 kind=2 name=3',
};

export const SCHEDULING_V1: MessageTable = {
  PriorityClass: 'metadata=1:ObjectMeta value=2:int32 globalDefault=3:bool? description=4 preemptionPolicy=5',
};

export const STORAGE_V1: MessageTable = {
  StorageClass:
    'metadata=1:ObjectMeta provisioner=2 parameters=3:{string} reclaimPolicy=4 mountOptions=5:[string] ' +
    'allowVolumeExpansion=6:bool volumeBindingMode=7 allowedTopologies=8:[TopologySelectorTerm]',
};

export const AUTHENTICATION_V1: MessageTable = {
  TokenRequest: 'metadata=1:ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus',
  TokenRequestSpec: 'audiences=1:[string] expirationSeconds=4:int64 boundObjectRef=3:BoundObjectReference',
  BoundObjectReference: 'kind=1 apiVersion=2 name=3 uid=4',
  TokenRequestStatus: 'token=1 expirationTimestamp=2:Time',
  TokenReview: 'metadata=1:ObjectMeta spec=2:TokenReviewSpec status=3:TokenReviewStatus',
  TokenReviewSpec: 'token=1 audiences=2:[string]',
  TokenReviewStatus: 'authenticated=1:bool? user=2:UserInfo audiences=4:[string] error=3',
  UserInfo: 'username=1 uid=2 groups=3:[string] extra=4:{ExtraValue}',
  SelfSubjectReview: 'metadata=1:ObjectMeta status=2:SelfSubjectReviewStatus',
  SelfSubjectReviewStatus: 'userInfo=1:UserInfo',
};

export const AUTHORIZATION_V1: MessageTable = {
  SelfSubjectAccessReview:
    'metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec status=3:SubjectAccessReviewStatus',
  SelfSubjectAccessReviewSpec:
    'resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes',
  SubjectAccessReview:
    'metadata=1:ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus',
  LocalSubjectAccessReview:
    'metadata=1:ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus',
  SubjectAccessReviewSpec:
    'resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes user=3 groups=4:[string] ' +
    'extra=5:{ExtraValue} uid=6',
  ResourceAttributes:
    'namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7 fieldSelector=8:FieldSelectorAttributes ' +
    'labelSelector=9:LabelSelectorAttributes',
  FieldSelectorAttributes: 'rawSelector=1 requirements=2:[FieldSelectorRequirement]',
  LabelSelectorAttributes: 'rawSelector=1 requirements=2:[LabelSelectorRequirement]',
  NonResourceAttributes: 'path=1 verb=2',
  SubjectAccessReviewStatus: 'allowed=1:bool denied=4:bool? reason=2 evaluationError=3',
  SelfSubjectRulesReview:
    'metadata=1:ObjectMeta spec=2:SelfSubjectRulesReviewSpec status=3:SubjectRulesReviewStatus',
  SelfSubjectRulesReviewSpec: 'namespace=1',
  SubjectRulesReviewStatus:
    'resourceRules=1:[ResourceRule] nonResourceRules=2:[NonResourceRule] incomplete=3:bool evaluationError=4',
  ResourceRule: 'verbs=1:[string] apiGroups=2:[string] resources=3:[string] resourceNames=4:[string]',
  NonResourceRule: 'verbs=1:[string] nonResourceURLs=2:[string]',
};
