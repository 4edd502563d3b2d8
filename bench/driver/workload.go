package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// workloadLabel marks every object the benchmark creates.
const workloadLabel = "bench.mlops.dev/workload"

var (
	trainingRunsGVR = schema.GroupVersionResource{Group: "mlops.dev", Version: "v1alpha1", Resource: "trainingruns"}
	jobsGVR         = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

type workload struct {
	N, M, K     int
	Concurrency int
	Prefix      string // namespaces are <Prefix>-<i>
}

func (w workload) namespace(i int) string { return fmt.Sprintf("%s-%d", w.Prefix, i%w.K) }
func (w workload) name(i int) string      { return fmt.Sprintf("run-%05d", i) }
func (w workload) model(i int) string     { return fmt.Sprintf("model-%d", i%w.M) }

// results is what the plane's fake trainer reports for run i (the
// test.mlops.dev/results annotation, hack/plane/README.md).
func (w workload) results(i int) string {
	sum := sha256.Sum256([]byte(w.name(i)))
	return fmt.Sprintf(`{"metrics":{"accuracy":%.3f,"loss":%.3f},"artifact":{"uri":"s3://bench/%s/%s","digest":"sha256:%s"}}`,
		0.9+float64(i%100)/1000, 0.1+float64(i%50)/1000, w.model(i), w.name(i), hex.EncodeToString(sum[:]))
}

const trainerImage = "registry.example.com/bench/trainer:1.0"

func (w workload) trainingRun(i int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "mlops.dev/v1alpha1",
		"kind":       "TrainingRun",
		"metadata": map[string]interface{}{
			"name": w.name(i), "namespace": w.namespace(i),
			"labels": map[string]interface{}{workloadLabel: w.Prefix},
		},
		"spec": map[string]interface{}{
			"model": w.model(i),
			// Both operators do the same work: no ModelVersion is registered.
			"register": false,
			"template": map[string]interface{}{
				"metadata": map[string]interface{}{
					"annotations": map[string]interface{}{"test.mlops.dev/results": w.results(i)},
				},
				"spec": map[string]interface{}{
					"containers": []interface{}{map[string]interface{}{"name": "trainer", "image": trainerImage}},
				},
			},
		},
	}}
}

// job is the floor's Job for run i: what an operator would create, made
// directly.
func (w workload) job(i int) *batchv1.Job {
	backoff := int32(1)
	labels := map[string]string{workloadLabel: w.Prefix, "mlops.dev/model": w.model(i)}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: w.name(i), Namespace: w.namespace(i), Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit: &backoff,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{"test.mlops.dev/results": w.results(i)},
				},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: "trainer", Image: trainerImage,
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
						Env: []corev1.EnvVar{
							{Name: "MLOPS_MODEL", Value: w.model(i)},
							{Name: "MLOPS_RUN", Value: w.name(i)},
							{Name: "MLOPS_NAMESPACE", Value: w.namespace(i)},
						},
					}},
				},
			},
		},
	}
}

func (w workload) createNamespaces(ctx context.Context, kc kubernetes.Interface) error {
	for i := 0; i < w.K; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: w.namespace(i), Labels: map[string]string{workloadLabel: w.Prefix},
		}}
		if _, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	// Pods need the namespace's default ServiceAccount.
	for i := 0; i < w.K; i++ {
		if err := poll(ctx, 2*time.Minute, func() (bool, error) {
			_, err := kc.CoreV1().ServiceAccounts(w.namespace(i)).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		}); err != nil {
			return fmt.Errorf("ServiceAccount default in %s: %w", w.namespace(i), err)
		}
	}
	return nil
}

// createAll runs create(i) for i in [0, N) on Concurrency goroutines.
func (w workload) createAll(ctx context.Context, create func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, w.Concurrency)
	for c := 0; c < w.Concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= w.N || ctx.Err() != nil {
					return
				}
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					if err = create(i); err == nil || apierrors.IsAlreadyExists(err) {
						err = nil
						break
					}
					time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
				}
				if err != nil {
					errs <- fmt.Errorf("creating object %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// doneCounter watches the workload's objects of one resource and reports
// when N of them are done (and fails fast when one has failed).
type doneCounter struct {
	mu     sync.Mutex
	done   map[string]bool
	failed map[string]string
	lastAt time.Time
	all    chan struct{}
	n      int
}

func watchDone(ctx context.Context, dc dynamic.Interface, gvr schema.GroupVersionResource, prefix string, n int,
	classify func(*unstructured.Unstructured) (done bool, failure string)) (*doneCounter, error) {
	c := &doneCounter{done: map[string]bool{}, failed: map[string]string{}, all: make(chan struct{}), n: n}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dc, 0, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = workloadLabel + "=" + prefix })
	inf := factory.ForResource(gvr).Informer()
	observe := func(obj interface{}) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		done, failure := classify(u)
		key := u.GetNamespace() + "/" + u.GetName()
		c.mu.Lock()
		defer c.mu.Unlock()
		if failure != "" {
			c.failed[key] = failure
		}
		if done && !c.done[key] {
			c.done[key] = true
			c.lastAt = time.Now()
			if len(c.done) == c.n {
				close(c.all)
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj interface{}) { observe(obj) },
	}); err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("watching %s did not sync", gvr.Resource)
	}
	return c, nil
}

func (c *doneCounter) progress() (done int, failed map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := map[string]string{}
	for k, v := range c.failed {
		f[k] = v
	}
	return len(c.done), f
}

// wait returns the time the last object was seen done, or an error on
// timeout or on the first failed object.
func (c *doneCounter) wait(ctx context.Context, timeout time.Duration, what string, report func(string)) (time.Time, error) {
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-c.all:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.lastAt, nil
		case <-deadline:
			done, _ := c.progress()
			return time.Time{}, fmt.Errorf("%s: only %d of %d done after %s", what, done, c.n, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-tick.C:
			done, failed := c.progress()
			if len(failed) > 0 {
				for k, v := range failed {
					return time.Time{}, fmt.Errorf("%s: %s failed: %s", what, k, v)
				}
			}
			report(fmt.Sprintf("%s: %d/%d done", what, done, c.n))
		}
	}
}

func trainingRunDone(u *unstructured.Unstructured) (bool, string) {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	switch phase {
	case "Succeeded":
		return true, ""
	case "Failed":
		reason, _, _ := unstructured.NestedString(u.Object, "status", "reason")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
		return false, reason + ": " + msg
	}
	return false, ""
}

func jobDone(u *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]interface{})
		if m["status"] != "True" {
			continue
		}
		switch m["type"] {
		case "Complete":
			return true, ""
		case "Failed":
			return false, fmt.Sprint(m["reason"])
		}
	}
	return false, ""
}

// deleteNamespaces deletes the workload's namespaces and waits until they
// are gone, so the next operator starts with an empty cache.
func (w workload) deleteNamespaces(ctx context.Context, kc kubernetes.Interface, timeout time.Duration) error {
	for i := 0; i < w.K; i++ {
		err := kc.CoreV1().Namespaces().Delete(ctx, w.namespace(i), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return poll(ctx, timeout, func() (bool, error) {
		list, err := kc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: workloadLabel + "=" + w.Prefix})
		if err != nil {
			return false, nil
		}
		return len(list.Items) == 0, nil
	})
}

func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
