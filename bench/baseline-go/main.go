// Command baseline-go is the benchmark's reference operator: the TrainingRun →
// Job → status path of mlops-operator written the way a kubebuilder project
// would write it with controller-runtime, so the two can be measured side by
// side on the same CRDs (bench/README.md).
//
// Deliberately idiomatic rather than tuned: the manager's default cache (every
// Job and Pod in the cluster, no label selector, no transform; TrainingRuns
// read from it too, as generated typed structs would be), the default
// client and workqueue rate limits, Status().Update, and
// MaxConcurrentReconciles equal to mlops-operator's --workers default (2).
// TrainingRuns are handled as unstructured objects, Jobs and Pods as typed
// ones, so no code generation is needed.
//
// What it does per TrainingRun, like mlops-operator with spec.register=false:
// create a Job owned by the run from spec.template (restartPolicy Never, the
// run's labels on the pods), then copy into status the phase (Pending →
// Running → Succeeded/Failed), the Job's name, UID, start and completion
// times, and the results container's termination message (metrics, artifact).
// It writes status only when it differs from what is stored.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

const (
	labelRun       = "mlops.dev/training-run"
	labelModel     = "mlops.dev/model"
	labelComponent = "app.kubernetes.io/component"
	labelManagedBy = "app.kubernetes.io/managed-by"
)

var trainingRunGVK = schema.GroupVersionKind{Group: "mlops.dev", Version: "v1alpha1", Kind: "TrainingRun"}

func newRun() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(trainingRunGVK)
	return u
}

type reconciler struct {
	client.Client
	apiReader client.Reader // uncached, to tell a lagging cache from a lost Job
	scheme    *runtime.Scheme
}

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	run := newRun()
	if err := r.Get(ctx, req.NamespacedName, run); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	oldStatus, _, _ := unstructured.NestedMap(run.Object, "status")
	if oldStatus == nil {
		oldStatus = map[string]interface{}{}
	}
	if p, _ := oldStatus["phase"].(string); p == "Succeeded" || p == "Failed" {
		return reconcile.Result{}, nil
	}
	status := runtime.DeepCopyJSON(oldStatus)
	status["observedGeneration"] = run.GetGeneration()

	var job batchv1.Job
	err := r.Get(ctx, req.NamespacedName, &job)
	switch {
	case apierrors.IsNotFound(err):
		if uid, _ := status["jobUID"].(string); uid != "" {
			// The cache may not have seen the Job this operator created yet
			// (its status write came back first): ask the API server. The
			// Job's own event brings the run back once the cache has it.
			if gerr := r.apiReader.Get(ctx, req.NamespacedName, &job); gerr == nil {
				return reconcile.Result{}, nil
			} else if !apierrors.IsNotFound(gerr) {
				return reconcile.Result{}, gerr
			}
			setPhase(status, "Failed", "JobLost", "Job "+run.GetName()+" disappeared")
			return reconcile.Result{}, r.writeStatus(ctx, run, oldStatus, status)
		}
		built, berr := r.buildJob(run)
		if berr != nil {
			setPhase(status, "Failed", "InvalidTemplate", berr.Error())
			return reconcile.Result{}, r.writeStatus(ctx, run, oldStatus, status)
		}
		if cerr := r.Create(ctx, built); cerr != nil && !apierrors.IsAlreadyExists(cerr) {
			return reconcile.Result{}, cerr
		}
		status["jobName"] = built.Name
		if built.UID != "" {
			status["jobUID"] = string(built.UID)
		}
		setPhase(status, "Pending", "CreatingJob", "creating Job "+built.Name)
		return reconcile.Result{}, r.writeStatus(ctx, run, oldStatus, status)
	case err != nil:
		return reconcile.Result{}, err
	}
	if !metav1.IsControlledBy(&job, run) {
		setPhase(status, "Pending", "JobNameTaken", "Job "+job.Name+" belongs to someone else")
		return reconcile.Result{}, r.writeStatus(ctx, run, oldStatus, status)
	}
	status["jobName"] = job.Name
	status["jobUID"] = string(job.UID)
	if job.Status.StartTime != nil {
		status["startTime"] = job.Status.StartTime.UTC().Format(time.RFC3339)
	}
	switch {
	case jobCondition(&job, batchv1.JobComplete):
		results, found, rerr := r.results(ctx, run, &job)
		if rerr != nil {
			return reconcile.Result{}, rerr
		}
		if !found {
			// The Job controller counted the pod before our cache saw its
			// final status; the pod's update event will bring us back.
			setPhase(status, "Running", "ReadingResults", "Job "+job.Name+" completed; waiting to see its succeeded pod")
			return reconcile.Result{RequeueAfter: 5 * time.Second}, r.writeStatus(ctx, run, oldStatus, status)
		}
		var parsed struct {
			Metrics  map[string]interface{} `json:"metrics"`
			Artifact map[string]interface{} `json:"artifact"`
		}
		if perr := json.Unmarshal([]byte(results), &parsed); perr != nil || parsed.Metrics == nil || parsed.Artifact == nil {
			setPhase(status, "Failed", "InvalidResults", "the results container's termination message is not a results object")
		} else {
			status["metrics"] = parsed.Metrics
			status["artifact"] = parsed.Artifact
			setPhase(status, "Succeeded", "Succeeded", "Job "+job.Name+" completed")
		}
		if job.Status.CompletionTime != nil {
			status["completionTime"] = job.Status.CompletionTime.UTC().Format(time.RFC3339)
		}
	case jobCondition(&job, batchv1.JobFailed):
		setPhase(status, "Failed", "JobFailed", "Job "+job.Name+" failed")
	default:
		setPhase(status, "Running", "JobRunning", "Job "+job.Name+" is running")
	}
	return reconcile.Result{}, r.writeStatus(ctx, run, oldStatus, status)
}

// writeStatus updates the status subresource only when something changed;
// the JSON encodings are compared because the API server's numbers come back
// as int64 where the parsed results have float64.
func (r *reconciler) writeStatus(ctx context.Context, run *unstructured.Unstructured, oldStatus, status map[string]interface{}) error {
	before, _ := json.Marshal(oldStatus)
	after, _ := json.Marshal(status)
	if string(before) == string(after) {
		return nil
	}
	run.Object["status"] = status
	return r.Status().Update(ctx, run)
}

func setPhase(status map[string]interface{}, phase, reason, message string) {
	status["phase"] = phase
	status["reason"] = reason
	status["message"] = message
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// results returns the termination message of the results container of the
// run's succeeded pod, read from the cache.
func (r *reconciler) results(ctx context.Context, run *unstructured.Unstructured, job *batchv1.Job) (string, bool, error) {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(run.GetNamespace()), client.MatchingLabels{labelRun: run.GetName()}); err != nil {
		return "", false, err
	}
	container := resultsContainer(run)
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.Status.Phase != corev1.PodSucceeded || !metav1.IsControlledBy(pod, job) {
			continue
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == container && cs.State.Terminated != nil {
				return cs.State.Terminated.Message, true, nil
			}
		}
	}
	return "", false, nil
}

func resultsContainer(run *unstructured.Unstructured) string {
	if name, _, _ := unstructured.NestedString(run.Object, "spec", "resultsContainer"); name != "" {
		return name
	}
	containers, _, _ := unstructured.NestedSlice(run.Object, "spec", "template", "spec", "containers")
	if len(containers) > 0 {
		if c, ok := containers[0].(map[string]interface{}); ok {
			name, _ := c["name"].(string)
			return name
		}
	}
	return ""
}

func (r *reconciler) buildJob(run *unstructured.Unstructured) (*batchv1.Job, error) {
	tmpl, found, err := unstructured.NestedMap(run.Object, "spec", "template")
	if err != nil || !found {
		return nil, fmt.Errorf("spec.template is missing")
	}
	var pt corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &pt); err != nil {
		return nil, fmt.Errorf("spec.template: %w", err)
	}
	model, _, _ := unstructured.NestedString(run.Object, "spec", "model")
	labels := map[string]string{
		labelRun:       run.GetName(),
		labelModel:     model,
		labelComponent: "training",
		labelManagedBy: "mlops-baseline-go",
	}
	if pt.Labels == nil {
		pt.Labels = map[string]string{}
	}
	for k, v := range labels {
		pt.Labels[k] = v
	}
	pt.Spec.RestartPolicy = corev1.RestartPolicyNever
	container := resultsContainer(run)
	for i := range pt.Spec.Containers {
		c := &pt.Spec.Containers[i]
		if c.Name == container {
			c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
		c.Env = append(c.Env,
			corev1.EnvVar{Name: "MLOPS_MODEL", Value: model},
			corev1.EnvVar{Name: "MLOPS_RUN", Value: run.GetName()},
			corev1.EnvVar{Name: "MLOPS_NAMESPACE", Value: run.GetNamespace()})
	}
	backoff := int32(1)
	if v, found, _ := unstructured.NestedInt64(run.Object, "spec", "backoffLimit"); found {
		backoff = int32(v)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: run.GetName(), Namespace: run.GetNamespace(), Labels: labels},
		Spec:       batchv1.JobSpec{BackoffLimit: &backoff, Template: pt},
	}
	if err := controllerutil.SetControllerReference(run, job, r.scheme); err != nil {
		return nil, err
	}
	return job, nil
}

func main() {
	var metricsAddr, probeAddr string
	var workers int
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address of /metrics.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	flag.IntVar(&workers, "workers", 2, "MaxConcurrentReconciles (mlops-operator's --workers default).")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	setupLog := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		setupLog.Error(err, "scheme")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		// Reads of TrainingRuns come from the cache, as they would with
		// generated typed structs (controller-runtime sends reads of
		// unstructured objects to the API server unless told otherwise).
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
	})
	if err != nil {
		setupLog.Error(err, "manager")
		os.Exit(1)
	}
	r := &reconciler{Client: mgr.GetClient(), apiReader: mgr.GetAPIReader(), scheme: mgr.GetScheme()}
	podToRun := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		run := obj.GetLabels()[labelRun]
		if run == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: run}}}
	})
	err = ctrl.NewControllerManagedBy(mgr).
		For(newRun()).
		Owns(&batchv1.Job{}).
		Watches(&corev1.Pod{}, podToRun).
		Named("trainingrun").
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
	if err != nil {
		setupLog.Error(err, "controller")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "healthz")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "readyz")
		os.Exit(1)
	}
	setupLog.Info("starting manager", "workers", workers)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "manager exited")
		os.Exit(1)
	}
}
