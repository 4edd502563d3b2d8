// Command bench drives the benchmark of bench/README.md on the local control
// plane (KUBECONFIG from .cluster/env): first the floor (N Jobs created
// directly, finished by kwok), then each operator in turn on N TrainingRuns,
// measuring it from /proc and from its /metrics. It prints a table and writes
// the figures as JSON. It exits non-zero when any phase does not converge.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type config struct {
	N, M, K, Concurrency, Workers int
	Operators                     []operatorSpec
	JSONPath, LogDir              string
	IdleSettle, Settle            time.Duration
	ResyncWindow, Timeout         time.Duration
	PlanePIDs                     string
}

type floorResult struct {
	ConvergeSeconds float64 `json:"converge_seconds"`
	CreateSeconds   float64 `json:"create_seconds"`
	CleanupSeconds  float64 `json:"cleanup_seconds"`
	// The API server's own count (apiserver_request_total) of the writes
	// made while the floor ran, by "VERB resource[/subresource]", divided
	// by N: who does what per Job, to see what bounds the floor.
	WritesPerJob map[string]float64 `json:"apiserver_writes_per_job"`
	// CPU seconds each plane process used from the first create until
	// converged: on a machine the plane saturates, the work that sets the
	// time.
	PlaneCPUSeconds map[string]float64 `json:"plane_cpu_seconds"`
}

type resyncResult struct {
	Seconds  float64          `json:"seconds"`
	Requests map[string]int64 `json:"requests_by_method"`
	// Writes counts POST, PUT, PATCH and DELETE from the restart until the
	// window closed, less those a start with no objects makes (startup
	// checks such as SelfSubjectAccessReviews are POSTs).
	Writes    int64 `json:"writes"`
	RawWrites int64 `json:"writes_including_startup"`
}

type operatorResult struct {
	Name                 string  `json:"name"`
	Binary               string  `json:"binary"`
	StartupSeconds       float64 `json:"startup_seconds"`
	ConvergeSeconds      float64 `json:"converge_seconds"`
	CreateSeconds        float64 `json:"create_seconds"`
	RatioToFloor         float64 `json:"ratio_to_floor"`
	IdleRSSBytes         int64   `json:"idle_rss_bytes"`
	PeakRSSBytes         int64   `json:"peak_rss_bytes"`
	SettledRSSBytes      int64   `json:"settled_rss_bytes"`
	CachedObjects        int     `json:"cached_objects"`
	BytesPerCachedObject float64 `json:"bytes_per_cached_object"`
	// What the operator's informers say their caches hold, settled at N
	// (mlops_informer_cached_objects and _bytes; absent for operators that
	// do not export them): the object encodings' share of the figure above.
	CachedObjectsByInformer map[string]float64 `json:"cached_objects_by_informer,omitempty"`
	CachedBytesByInformer   map[string]float64 `json:"cached_bytes_by_informer,omitempty"`
	CPUSecondsIdle          float64            `json:"cpu_seconds_start_to_idle"`
	CPUSecondsWorkload      float64            `json:"cpu_seconds_workload"`
	StartupRequests         map[string]int64   `json:"startup_requests_by_method"`
	Requests                map[string]int64   `json:"requests_by_method"`
	Resync                  resyncResult       `json:"forced_resync"`
	QueueP50Seconds         *float64           `json:"queue_latency_p50_seconds"`
	QueueP99Seconds         *float64           `json:"queue_latency_p99_seconds"`
	IdleThreads             int64              `json:"idle_threads"`
	IdleFDs                 int64              `json:"idle_fds"`
	SettledThreads          int64              `json:"settled_threads"`
	SettledFDs              int64              `json:"settled_fds"`
	// One GET of /metrics with the N runs cached: mlops-operator's domain
	// metrics are computed from the cache on each scrape.
	SettledScrapeSeconds float64 `json:"settled_metrics_scrape_seconds"`
	CleanupSeconds       float64 `json:"cleanup_seconds"`
	// As the floor's: the plane's CPU seconds from the first create until
	// converged, and the API server's writes per run in that time (the
	// driver's creates of the runs included).
	PlaneCPUSeconds map[string]float64 `json:"plane_cpu_seconds"`
	WritesPerRun    map[string]float64 `json:"apiserver_writes_per_run"`
}

type report struct {
	Date       string           `json:"date"`
	Machine    string           `json:"machine"`
	Parameters map[string]any   `json:"parameters"`
	Floor      floorResult      `json:"floor"`
	Operators  []operatorResult `json:"operators"`
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func main() {
	var cfg config
	var operators string
	flag.IntVar(&cfg.N, "n", 1000, "TrainingRuns (and floor Jobs)")
	flag.IntVar(&cfg.M, "m", 10, "models the runs are spread over")
	flag.IntVar(&cfg.K, "k", 10, "namespaces the runs are spread over")
	flag.IntVar(&cfg.Workers, "workers", 2, "--workers of both operators (mlops-operator's default)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 2, "concurrent creates, for the runs and the floor's Jobs alike")
	flag.StringVar(&operators, "operators", "", "name=binary,... ; the name 'baseline' gets baseline-go's flags")
	flag.StringVar(&cfg.JSONPath, "json", "", "write the figures here")
	flag.StringVar(&cfg.LogDir, "log-dir", os.TempDir(), "operators' logs")
	flag.DurationVar(&cfg.IdleSettle, "idle-settle", 5*time.Second, "wait after ready before the idle sample")
	flag.DurationVar(&cfg.Settle, "settle", 15*time.Second, "wait after convergence before the settled sample")
	flag.DurationVar(&cfg.ResyncWindow, "resync-window", 10*time.Second, "extra time writes are counted after the resync drained")
	flag.DurationVar(&cfg.Timeout, "timeout", 30*time.Minute, "per phase")
	defaultPIDs := ""
	if dir := os.Getenv("CLUSTER_DIR"); dir != "" {
		defaultPIDs = filepath.Join(dir, "pids")
	}
	flag.StringVar(&cfg.PlanePIDs, "plane-pids", defaultPIDs, "the plane's pid files, for its CPU seconds per phase (default $CLUSTER_DIR/pids)")
	flag.Parse()
	for _, kv := range strings.Split(operators, ",") {
		name, bin, ok := strings.Cut(kv, "=")
		if !ok || name == "" || bin == "" {
			fmt.Fprintf(os.Stderr, "bad -operators entry %q\n", kv)
			os.Exit(2)
		}
		cfg.Operators = append(cfg.Operators, operatorArgs(name, bin, cfg.Workers))
	}
	if cfg.N <= 0 || cfg.M <= 0 || cfg.K <= 0 || cfg.Concurrency <= 0 {
		fmt.Fprintln(os.Stderr, "-n, -m, -k and -concurrency must be positive")
		os.Exit(2)
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "-log-dir: %v\n", err)
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	rep, err := run(ctx, cfg)
	if rep != nil {
		printTable(os.Stdout, rep)
		if cfg.JSONPath != "" {
			data, _ := json.MarshalIndent(rep, "", "  ")
			if werr := os.WriteFile(cfg.JSONPath, append(data, '\n'), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		os.Exit(1)
	}
}

func operatorArgs(name, bin string, workers int) operatorSpec {
	if name == "baseline" {
		return operatorSpec{Name: name, Binary: bin, Args: func(m, p string) []string {
			return []string{"--metrics-bind-address=" + m, "--health-probe-bind-address=" + p,
				fmt.Sprintf("--workers=%d", workers)}
		}}
	}
	return operatorSpec{Name: name, Binary: bin, Args: func(m, p string) []string {
		return []string{"--metrics-bind-address=" + m, "--health-probe-bind-address=" + p,
			fmt.Sprintf("--workers=%d", workers)}
	}}
}

func run(ctx context.Context, cfg config) (*report, error) {
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	// The driver must not be what limits the rate.
	rc.QPS, rc.Burst = 1000, 2000
	kc, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	rep := &report{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: fmt.Sprintf("%d CPUs (%s/%s)", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH),
		Parameters: map[string]any{"n": cfg.N, "m": cfg.M, "k": cfg.K, "concurrency": cfg.Concurrency,
			"workers": cfg.Workers},
	}
	// Leftovers of an interrupted run would be in every cache.
	for _, prefix := range append([]string{"bench-floor"}, operatorPrefixes(cfg)...) {
		w := workload{N: cfg.N, M: cfg.M, K: cfg.K, Prefix: prefix}
		if err := w.deleteNamespaces(ctx, kc, cfg.Timeout); err != nil {
			return nil, fmt.Errorf("removing leftovers of %s: %w", prefix, err)
		}
	}

	floor, err := runFloor(ctx, cfg, kc, dc)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	rep.Floor = floor
	for _, spec := range cfg.Operators {
		res, err := runOperator(ctx, cfg, spec, kc, dc)
		if res != nil {
			if floor.ConvergeSeconds > 0 {
				res.RatioToFloor = res.ConvergeSeconds / floor.ConvergeSeconds
			}
			rep.Operators = append(rep.Operators, *res)
		}
		if err != nil {
			return rep, fmt.Errorf("%s: %w", spec.Name, err)
		}
	}
	return rep, nil
}

func operatorPrefixes(cfg config) []string {
	var out []string
	for _, s := range cfg.Operators {
		out = append(out, "bench-"+s.Name)
	}
	return out
}

func runFloor(ctx context.Context, cfg config, kc kubernetes.Interface, dc dynamic.Interface) (floorResult, error) {
	var res floorResult
	w := workload{N: cfg.N, M: cfg.M, K: cfg.K, Concurrency: cfg.Concurrency, Prefix: "bench-floor"}
	logf("floor: %d Jobs in %d namespaces, %d at a time, no operator", cfg.N, cfg.K, cfg.Concurrency)
	if err := w.createNamespaces(ctx, kc); err != nil {
		return res, err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	counter, err := watchDone(wctx, dc, jobsGVR, w.Prefix, cfg.N, jobDone)
	if err != nil {
		return res, err
	}
	apiBefore, apiErr := apiserverMetrics(ctx, kc)
	cpuBefore := planeCPU(cfg.PlanePIDs)
	start := time.Now()
	if err := w.createAll(ctx, func(i int) error {
		_, err := kc.BatchV1().Jobs(w.namespace(i)).Create(ctx, w.job(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return res, err
	}
	res.CreateSeconds = time.Since(start).Seconds()
	last, err := counter.wait(ctx, cfg.Timeout, "floor Jobs complete", func(s string) { logf("%s", s) })
	if err != nil {
		return res, err
	}
	res.ConvergeSeconds = last.Sub(start).Seconds()
	res.PlaneCPUSeconds = cpuDelta(planeCPU(cfg.PlanePIDs), cpuBefore)
	stop()
	if apiAfter, err := apiserverMetrics(ctx, kc); err == nil && apiErr == nil {
		res.WritesPerJob = writesByResource(apiAfter, apiBefore, cfg.N)
	} else {
		logf("floor: API server metrics not readable, no per-Job write counts: %v %v", apiErr, err)
	}
	logf("floor: converged in %.1fs; deleting its namespaces", res.ConvergeSeconds)
	t := time.Now()
	if err := w.deleteNamespaces(ctx, kc, cfg.Timeout); err != nil {
		return res, fmt.Errorf("cleanup: %w", err)
	}
	res.CleanupSeconds = time.Since(t).Seconds()
	return res, nil
}

func runOperator(ctx context.Context, cfg config, spec operatorSpec, kc kubernetes.Interface, dc dynamic.Interface) (*operatorResult, error) {
	res := &operatorResult{Name: spec.Name, Binary: spec.Binary}
	w := workload{N: cfg.N, M: cfg.M, K: cfg.K, Concurrency: cfg.Concurrency, Prefix: "bench-" + spec.Name}
	logf("%s: starting %s", spec.Name, spec.Binary)
	proc, err := startOperator(spec, cfg.LogDir, 1)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			proc.stop(20 * time.Second)
		}
	}()
	if err := proc.waitReady(2 * time.Minute); err != nil {
		return nil, err
	}
	res.StartupSeconds = time.Since(proc.startedAt).Seconds()
	time.Sleep(cfg.IdleSettle)
	idle, err := readProc(proc.pid())
	if err != nil {
		return nil, err
	}
	res.IdleRSSBytes, res.IdleThreads, res.IdleFDs, res.CPUSecondsIdle = idle.RSSBytes, idle.Threads, idle.FDs, idle.CPUSeconds
	before, err := fetchMetrics(proc.metricsURL)
	if err != nil {
		return nil, err
	}
	res.StartupRequests = diffByMethod(before.requestsByMethod(), nil)
	logf("%s: idle RSS %.1f MiB, %d threads, %d fds", spec.Name, mib(idle.RSSBytes), idle.Threads, idle.FDs)

	if err := w.createNamespaces(ctx, kc); err != nil {
		return res, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	counter, err := watchDone(wctx, dc, trainingRunsGVR, w.Prefix, cfg.N, trainingRunDone)
	if err != nil {
		return res, err
	}
	apiBefore, apiErr := apiserverMetrics(ctx, kc)
	cpuBefore := planeCPU(cfg.PlanePIDs)
	sampler := sampleRSS(proc.pid(), 100*time.Millisecond)
	start := time.Now()
	err = w.createAll(ctx, func(i int) error {
		_, err := dc.Resource(trainingRunsGVR).Namespace(w.namespace(i)).Create(ctx, w.trainingRun(i), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		sampler.finish()
		return res, err
	}
	res.CreateSeconds = time.Since(start).Seconds()
	last, err := counter.wait(ctx, cfg.Timeout, spec.Name+": TrainingRuns Succeeded", func(s string) { logf("%s", s) })
	if err != nil {
		sampler.finish()
		return res, err
	}
	res.ConvergeSeconds = last.Sub(start).Seconds()
	res.PlaneCPUSeconds = cpuDelta(planeCPU(cfg.PlanePIDs), cpuBefore)
	if apiAfter, err := apiserverMetrics(ctx, kc); err == nil && apiErr == nil {
		res.WritesPerRun = writesByResource(apiAfter, apiBefore, cfg.N)
	}
	stopWatch()
	logf("%s: converged in %.1fs; settling %s", spec.Name, res.ConvergeSeconds, cfg.Settle)
	time.Sleep(cfg.Settle)
	res.PeakRSSBytes = sampler.finish()
	settled, err := readProc(proc.pid())
	if err != nil {
		return res, err
	}
	scrapeStart := time.Now()
	after, err := fetchMetrics(proc.metricsURL)
	if err != nil {
		return res, err
	}
	res.SettledScrapeSeconds = time.Since(scrapeStart).Seconds()
	res.SettledRSSBytes, res.SettledThreads, res.SettledFDs = settled.RSSBytes, settled.Threads, settled.FDs
	if settled.RSSBytes > res.PeakRSSBytes {
		res.PeakRSSBytes = settled.RSSBytes
	}
	res.CPUSecondsWorkload = settled.CPUSeconds - idle.CPUSeconds
	// Each run leaves a TrainingRun, a Job and a pod in the cache.
	res.CachedObjects = 3 * cfg.N
	res.BytesPerCachedObject = float64(settled.RSSBytes-idle.RSSBytes) / float64(res.CachedObjects)
	res.Requests = diffByMethod(after.requestsByMethod(), before.requestsByMethod())
	res.CachedObjectsByInformer = after.byLabel("mlops_informer_cached_objects", "informer")
	res.CachedBytesByInformer = after.byLabel("mlops_informer_cached_bytes", "informer")
	queue := map[string]string{"name": "trainingrun"}
	delta := histogramDelta(after.histogram("workqueue_queue_duration_seconds", queue),
		before.histogram("workqueue_queue_duration_seconds", queue))
	res.QueueP50Seconds = finite(quantile(0.5, delta))
	res.QueueP99Seconds = finite(quantile(0.99, delta))

	// A forced resync: a restart lists every object again and reconciles
	// each run once; with nothing changed it must not write.
	logf("%s: restarting for a forced resync of %d runs", spec.Name, cfg.N)
	proc.stop(20 * time.Second)
	stopped = true
	proc, err = startOperator(spec, cfg.LogDir, 2)
	if err != nil {
		return res, err
	}
	stopped = false
	if err := proc.waitReady(2 * time.Minute); err != nil {
		return res, err
	}
	resyncStart := proc.startedAt
	if err := poll(ctx, cfg.Timeout, func() (bool, error) {
		s, err := fetchMetrics(proc.metricsURL)
		if err != nil {
			return false, nil
		}
		reconciled := s.sum("controller_runtime_reconcile_total", map[string]string{"controller": "trainingrun"})
		depth := s.sum("workqueue_depth", queue)
		return reconciled >= float64(cfg.N) && depth == 0, nil
	}); err != nil {
		return res, fmt.Errorf("forced resync did not drain: %w", err)
	}
	res.Resync.Seconds = time.Since(resyncStart).Seconds()
	time.Sleep(cfg.ResyncWindow)
	final, err := fetchMetrics(proc.metricsURL)
	if err != nil {
		return res, err
	}
	res.Resync.Requests = diffByMethod(final.requestsByMethod(), nil)
	res.Resync.RawWrites = writes(res.Resync.Requests)
	res.Resync.Writes = res.Resync.RawWrites - writes(res.StartupRequests)
	logf("%s: resync drained in %.1fs, %d writes", spec.Name, res.Resync.Seconds, res.Resync.Writes)

	// Delete while the operator runs, then stop it: the next one starts with
	// nothing in its cache.
	t := time.Now()
	if err := w.deleteNamespaces(ctx, kc, cfg.Timeout); err != nil {
		return res, fmt.Errorf("cleanup: %w", err)
	}
	res.CleanupSeconds = time.Since(t).Seconds()
	proc.stop(20 * time.Second)
	stopped = true
	return res, nil
}

func apiserverMetrics(ctx context.Context, kc kubernetes.Interface) (scrape, error) {
	raw, err := kc.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	return parseText(strings.NewReader(string(raw)))
}

func writesByResource(after, before scrape, n int) map[string]float64 {
	key := func(s sample) (string, bool) {
		verb := s.Labels["verb"]
		switch verb {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY":
		default:
			return "", false
		}
		r := s.Labels["resource"]
		if sub := s.Labels["subresource"]; sub != "" {
			r += "/" + sub
		}
		return verb + " " + r, true
	}
	sums := map[string]float64{}
	for sign, sc := range map[float64]scrape{1: after, -1: before} {
		for _, s := range sc {
			if s.Name != "apiserver_request_total" {
				continue
			}
			if k, ok := key(s); ok {
				sums[k] += sign * s.Value
			}
		}
	}
	out := map[string]float64{}
	for k, v := range sums {
		if v >= 1 {
			out[k] = math.Round(v/float64(n)*100) / 100
		}
	}
	return out
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
