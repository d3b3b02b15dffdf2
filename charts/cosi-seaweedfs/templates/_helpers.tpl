{{/* The chart name, for the app.kubernetes.io/name label. */}}
{{- define "cosi-seaweedfs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of every object: fullnameOverride, else the release name when it
already contains the chart name, else <release>-<name>.
*/}}
{{- define "cosi-seaweedfs.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cosi-seaweedfs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cosi-seaweedfs.selector" -}}
app.kubernetes.io/name: {{ include "cosi-seaweedfs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cosi-seaweedfs.labels" -}}
helm.sh/chart: {{ include "cosi-seaweedfs.chart" . }}
{{ include "cosi-seaweedfs.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: container-object-storage-interface
{{- end -}}

{{/* The admin Secret the driver mounts: created by the chart or existing. */}}
{{- define "cosi-seaweedfs.adminSecretName" -}}
{{- if .Values.seaweedfs.adminSecret.create -}}
{{- printf "%s-admin" (include "cosi-seaweedfs.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- required "seaweedfs.adminSecret.existingSecret: name the Secret that holds the SeaweedFS admin identity, or set seaweedfs.adminSecret.create" .Values.seaweedfs.adminSecret.existingSecret -}}
{{- end -}}
{{- end -}}

{{/*
The sidecar's leader Lease: "<driver name>/cosi" with every character other
than letters, digits and '-' replaced by '-', lower-cased, and an 'X' added if
it ends with '-' (sanitize in the COSI sidecar's controller library).
*/}}
{{- define "cosi-seaweedfs.sidecarLease" -}}
{{- $n := regexReplaceAll "[^a-zA-Z0-9-]" (printf "%s/cosi" .Values.driverName) "-" | lower -}}
{{- if hasSuffix "-" $n -}}{{ $n }}X{{- else -}}{{ $n }}{{- end -}}
{{- end -}}

{{/* The driver's leader Lease: cosi-seaweedfs-<first 10 hex digits of sha256(driver name)>. */}}
{{- define "cosi-seaweedfs.driverLease" -}}
{{- printf "cosi-seaweedfs-%s" (sha256sum .Values.driverName | trunc 10) -}}
{{- end -}}

{{/* Cluster-scoped names carry the namespace: one release per namespace. */}}
{{- define "cosi-seaweedfs.clusterName" -}}
{{- printf "%s-%s-%s" (include "cosi-seaweedfs.fullname" .root) .component .root.Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Refuses a sidecar image whose tag names another release line than the rules
the chart grants (sidecar.rbac): the sidecar would fail on missing rights, or
hold rights it never uses. Tags that are not vX.Y.Z (digests, custom builds)
are not checked.
*/}}
{{- define "cosi-seaweedfs.checkSidecar" -}}
{{- $tag := toString .Values.sidecar.image.tag -}}
{{- if regexMatch "^v[0-9]+\\.[0-9]+\\.[0-9]+" $tag -}}
{{- $line := regexFind "^v[0-9]+\\.[0-9]+" $tag -}}
{{- if ne $line .Values.sidecar.rbac -}}
{{- fail (printf "sidecar.rbac is %q but sidecar.image.tag %q is of the %s line: set sidecar.rbac=%s" .Values.sidecar.rbac $tag $line $line) -}}
{{- end -}}
{{- end -}}
{{- end -}}


{{/* The driver image: image.repository, and image.tag or the chart's appVersion. */}}
{{- define "cosi-seaweedfs.image" -}}
"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
{{- end -}}

{{/*
The flags that say which SeaweedFS the driver administers and with which
identity: shared by the driver and the `helm test` pod's `check`, so that the
test checks exactly what the driver uses.
*/}}
{{- define "cosi-seaweedfs.seaweedfsArgs" -}}
- --s3-endpoint={{ .Values.seaweedfs.endpoint }}
- --s3-region={{ .Values.seaweedfs.region }}
- --admin-access-key-file=/etc/cosi-seaweedfs/admin/{{ .Values.seaweedfs.adminSecret.accessKeyIDKey }}
- --admin-secret-key-file=/etc/cosi-seaweedfs/admin/{{ .Values.seaweedfs.adminSecret.secretAccessKeyKey }}
- --user-prefix={{ .Values.userPrefix }}
- --backend-timeout={{ .Values.timeouts.backend }}
{{- with .Values.seaweedfs.filer }}
{{- if .grpcAddress }}
- --filer-grpc-address={{ .grpcAddress }}
{{- if .tls.existingSecret }}
- --filer-tls-cert-file=/etc/cosi-seaweedfs/filer-tls/{{ .tls.certKey }}
- --filer-tls-key-file=/etc/cosi-seaweedfs/filer-tls/{{ .tls.keyKey }}
- --filer-tls-ca-file=/etc/cosi-seaweedfs/filer-tls/{{ .tls.caKey }}
{{- with .tls.serverName }}
- --filer-tls-server-name={{ . }}
{{- end }}
{{- end }}
{{- if .jwt.existingSecret }}
- --filer-jwt-signing-key-file=/etc/cosi-seaweedfs/filer-jwt/{{ .jwt.key }}
{{- end }}
{{- /* Without mutual TLS the filer's own gRPC service (filer_pb) takes
     plaintext writes of the identity files from anyone, token or not. */}}
{{- if not (or .tls.existingSecret .allowInsecure) }}
{{- if .jwt.existingSecret }}
{{- fail "seaweedfs.filer.jwt.existingSecret alone does not secure the filer: its token guards the filer's IAM gRPC service only, while its filer gRPC service on the same port takes plaintext writes of identity files from anyone; set seaweedfs.filer.tls.existingSecret (mutual TLS) or accept the risk with seaweedfs.filer.allowInsecure=true" }}
{{- end }}
{{- fail "seaweedfs.filer.grpcAddress needs seaweedfs.filer.tls.existingSecret (the driver's client certificate for the filer's mutual TLS) or seaweedfs.filer.allowInsecure=true" }}
{{- end }}
{{- if .allowInsecure }}
- --allow-insecure-filer
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The mounts of the Secrets the flags above name (driver and test pod). */}}
{{- define "cosi-seaweedfs.seaweedfsMounts" -}}
- name: admin
  mountPath: /etc/cosi-seaweedfs/admin
  readOnly: true
{{- if and .Values.seaweedfs.filer.grpcAddress .Values.seaweedfs.filer.tls.existingSecret }}
- name: filer-tls
  mountPath: /etc/cosi-seaweedfs/filer-tls
  readOnly: true
{{- end }}
{{- if and .Values.seaweedfs.filer.grpcAddress .Values.seaweedfs.filer.jwt.existingSecret }}
- name: filer-jwt
  mountPath: /etc/cosi-seaweedfs/filer-jwt
  readOnly: true
{{- end }}
{{- end -}}

{{/* The volumes of those Secrets. */}}
{{- define "cosi-seaweedfs.seaweedfsVolumes" -}}
- name: admin
  secret:
    secretName: {{ include "cosi-seaweedfs.adminSecretName" . }}
    defaultMode: 0440
{{- if and .Values.seaweedfs.filer.grpcAddress .Values.seaweedfs.filer.tls.existingSecret }}
- name: filer-tls
  secret:
    secretName: {{ .Values.seaweedfs.filer.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if and .Values.seaweedfs.filer.grpcAddress .Values.seaweedfs.filer.jwt.existingSecret }}
- name: filer-jwt
  secret:
    secretName: {{ .Values.seaweedfs.filer.jwt.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.seaweedfs.filer.jwt.key }}
        path: {{ .Values.seaweedfs.filer.jwt.key }}
{{- end }}
{{- end -}}

{{/*
The pod's ServiceAccount: created by the chart (serviceAccount.create, named
serviceAccount.name or after the release) or an existing one, which then must
be named.
*/}}
{{- define "cosi-seaweedfs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cosi-seaweedfs.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount the driver runs as, or set serviceAccount.create" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The endpoint workloads are told: public.endpoint, else seaweedfs.endpoint. A
bare Service name there (http://seaweedfs-s3:8333) resolves only in the
driver's own namespace, where the driver reaches it; workloads live in other
namespaces, so it is qualified with the release namespace
(http://seaweedfs-s3.<namespace>.svc:8333), the same Service. Names with a
dot (svc.namespace, FQDNs) and IP addresses resolve everywhere and are kept.
*/}}
{{- define "cosi-seaweedfs.publicEndpoint" -}}
{{- if .Values.public.endpoint -}}
{{- .Values.public.endpoint -}}
{{- else -}}
{{- $u := urlParse .Values.seaweedfs.endpoint -}}
{{- $hostPort := splitList ":" $u.host -}}
{{- $host := first $hostPort -}}
{{- if and (not (contains "." $host)) (ne $host "localhost") (not (contains "[" $u.host)) -}}
{{- $qualified := printf "%s.%s.svc" $host .Release.Namespace -}}
{{- if gt (len $hostPort) 1 }}{{ $qualified = printf "%s:%s" $qualified (last $hostPort) }}{{ end -}}
{{- urlJoin (set $u "host" $qualified) -}}
{{- else -}}
{{- .Values.seaweedfs.endpoint -}}
{{- end -}}
{{- end -}}
{{- end -}}
