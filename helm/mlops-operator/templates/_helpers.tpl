{{- define "mlops-operator.name" -}}mlops-operator{{- end -}}

{{- define "mlops-operator.labels" -}}
app.kubernetes.io/name: mlops-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "mlops-operator.selectorLabels" -}}
app.kubernetes.io/name: mlops-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mlops-operator.fullname" -}}
{{- if eq .Release.Name "mlops-operator" -}}mlops-operator{{- else -}}{{ printf "%s-mlops-operator" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}
