// kube-proxy as a cluster runs it: a DaemonSet in kube-system (hostNetwork, privileged, iptables mode) whose
// pods reach the API server at its real address with their ServiceAccount token, the way kubeadm sets it up
// (a kubeconfig in a ConfigMap naming the token file: a ClusterIP cannot be reached before kube-proxy runs).

/** KUBE_PROXY_IMAGE is the image the lab's kube-proxy DaemonSet runs (built locally, never pulled). */
export const KUBE_PROXY_IMAGE = 'localhost/kube-proxy:v1.35.4';

/** kubeProxyManifests returns the ServiceAccount, binding, ConfigMap and DaemonSet, in the order to apply. */
export function kubeProxyManifests(options: {
  server: string;
  clusterCIDRs: string;
  image?: string;
}): object[] {
  const ns = 'kube-system';
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: default
  cluster:
    server: ${options.server}
    certificate-authority: ${sa}/ca.crt
users:
- name: kube-proxy
  user:
    tokenFile: ${sa}/token
contexts:
- name: default
  context:
    cluster: default
    user: kube-proxy
current-context: default
`;
  const labels = { 'k8s-app': 'kube-proxy' };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kube-proxy', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'lab:kube-proxy' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
      subjects: [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-proxy', namespace: ns, labels },
      data: { kubeconfig },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube-proxy', namespace: ns, labels },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'kube-proxy',
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            tolerations: [{ operator: 'Exists' }],
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: 'kube-proxy',
                image: options.image ?? KUBE_PROXY_IMAGE,
                imagePullPolicy: 'Never',
                command: [
                  '/usr/local/bin/kube-proxy',
                  '--kubeconfig=/var/lib/kube-proxy/kubeconfig',
                  '--hostname-override=$(NODE_NAME)',
                  '--proxy-mode=iptables',
                  `--cluster-cidr=${options.clusterCIDRs}`,
                  // the lab's nodes share the host's conntrack table settings: leave them alone
                  '--conntrack-max-per-core=0',
                  '--conntrack-tcp-timeout-established=0',
                  '--conntrack-tcp-timeout-close-wait=0',
                  '--healthz-bind-address=0.0.0.0:10256',
                  '--metrics-bind-address=127.0.0.1:10249',
                  '--iptables-sync-period=30s',
                  '--v=1',
                ],
                env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                securityContext: { privileged: true },
                readinessProbe: {
                  httpGet: { path: '/healthz', port: 10256, host: '127.0.0.1' },
                  periodSeconds: 2,
                },
                volumeMounts: [
                  { name: 'kubeconfig', mountPath: '/var/lib/kube-proxy', readOnly: true },
                  { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                  { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'kubeconfig', configMap: { name: 'kube-proxy' } },
              { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
              { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
            ],
          },
        },
      },
    },
  ];
}
