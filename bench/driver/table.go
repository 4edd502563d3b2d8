package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// printTable writes the figures as a Markdown table: one column per
// operator, the floor, and (with exactly two operators) the first's ratio
// to the second's. The README's Performance section is this output.
func printTable(out io.Writer, rep *report) {
	ops := rep.Operators
	header := []string{"figure"}
	for _, o := range ops {
		header = append(header, o.Name)
	}
	header = append(header, "floor")
	ratio := len(ops) == 2
	if ratio {
		header = append(header, ops[0].Name+" / "+ops[1].Name)
	}
	var rows [][]string
	add := func(name string, cell func(o operatorResult) (string, float64), floor string) {
		row := []string{name}
		var vals []float64
		for _, o := range ops {
			s, v := cell(o)
			row = append(row, s)
			vals = append(vals, v)
		}
		row = append(row, floor)
		if ratio {
			if vals[1] != 0 && vals[0] >= 0 && vals[1] > 0 {
				row = append(row, fmt.Sprintf("%.2f", vals[0]/vals[1]))
			} else {
				row = append(row, "")
			}
		}
		rows = append(rows, row)
	}
	num := func(format string, v float64) (string, float64) { return fmt.Sprintf(format, v), v }
	add("time to converge (s)", func(o operatorResult) (string, float64) { return num("%.1f", o.ConvergeSeconds) },
		fmt.Sprintf("%.1f", rep.Floor.ConvergeSeconds))
	add("ratio to floor", func(o operatorResult) (string, float64) { return num("%.2f", o.RatioToFloor) }, "1.00")
	add("time to create the N objects (s)", func(o operatorResult) (string, float64) { return num("%.1f", o.CreateSeconds) },
		fmt.Sprintf("%.1f", rep.Floor.CreateSeconds))
	if len(rep.Floor.PlaneCPUSeconds) > 0 {
		add("plane CPU seconds while converging", func(o operatorResult) (string, float64) {
			return num("%.1f", cpuTotal(o.PlaneCPUSeconds))
		}, fmt.Sprintf("%.1f", cpuTotal(rep.Floor.PlaneCPUSeconds)))
		add("… of which kube-apiserver", func(o operatorResult) (string, float64) {
			return num("%.1f", o.PlaneCPUSeconds["kube-apiserver"])
		}, fmt.Sprintf("%.1f", rep.Floor.PlaneCPUSeconds["kube-apiserver"]))
	}
	add("idle RSS, 0 objects (MiB)", func(o operatorResult) (string, float64) { return num("%.1f", mib(o.IdleRSSBytes)) }, "")
	add("peak RSS at N (MiB)", func(o operatorResult) (string, float64) { return num("%.1f", mib(o.PeakRSSBytes)) }, "")
	add("settled RSS at N (MiB)", func(o operatorResult) (string, float64) { return num("%.1f", mib(o.SettledRSSBytes)) }, "")
	add("bytes per cached object (settled − idle) / 3N", func(o operatorResult) (string, float64) {
		return num("%.0f", o.BytesPerCachedObject)
	}, "")
	add("… of which object encodings (cached bytes / 3N)", func(o operatorResult) (string, float64) {
		if o.CachedBytesByInformer == nil {
			return "n/a", -1
		}
		total := 0.0
		for _, b := range o.CachedBytesByInformer {
			total += b
		}
		return num("%.0f", total/float64(o.CachedObjects))
	}, "")
	add("CPU seconds, start to idle", func(o operatorResult) (string, float64) { return num("%.2f", o.CPUSecondsIdle) }, "")
	add("CPU seconds, workload", func(o operatorResult) (string, float64) { return num("%.2f", o.CPUSecondsWorkload) }, "")
	for _, m := range methods(ops) {
		m := m
		add("API requests "+m, func(o operatorResult) (string, float64) {
			v := float64(o.Requests[m])
			return fmt.Sprintf("%d", o.Requests[m]), v
		}, "")
	}
	add("writes in a forced resync (must be 0)", func(o operatorResult) (string, float64) {
		return fmt.Sprintf("%d", o.Resync.Writes), float64(o.Resync.Writes)
	}, "")
	add("writes of a start with 0 objects (not counted above)", func(o operatorResult) (string, float64) {
		n := writes(o.StartupRequests)
		return fmt.Sprintf("%d", n), float64(n)
	}, "")
	add("forced resync: restart to drained (s)", func(o operatorResult) (string, float64) { return num("%.1f", o.Resync.Seconds) }, "")
	add("event-to-reconcile p50 (ms)", func(o operatorResult) (string, float64) { return optMillis(o.QueueP50Seconds) }, "")
	add("event-to-reconcile p99 (ms)", func(o operatorResult) (string, float64) { return optMillis(o.QueueP99Seconds) }, "")
	add("a /metrics scrape at N (ms)", func(o operatorResult) (string, float64) {
		return num("%.1f", o.SettledScrapeSeconds*1000)
	}, "")
	add("threads idle", func(o operatorResult) (string, float64) { return num("%.0f", float64(o.IdleThreads)) }, "")
	add("threads settled", func(o operatorResult) (string, float64) { return num("%.0f", float64(o.SettledThreads)) }, "")
	add("open fds idle", func(o operatorResult) (string, float64) { return num("%.0f", float64(o.IdleFDs)) }, "")
	add("open fds settled", func(o operatorResult) (string, float64) { return num("%.0f", float64(o.SettledFDs)) }, "")

	fmt.Fprintf(out, "N=%v TrainingRuns, M=%v models, K=%v namespaces, workers=%v, create concurrency=%v; %s, %s\n\n",
		rep.Parameters["n"], rep.Parameters["m"], rep.Parameters["k"], rep.Parameters["workers"],
		rep.Parameters["concurrency"], rep.Machine, rep.Date)
	writeRow(out, header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
		if i > 0 {
			sep[i] = "---:"
		}
	}
	writeRow(out, sep)
	for _, r := range rows {
		writeRow(out, r)
	}
	if len(rep.Floor.WritesPerJob) > 0 {
		fmt.Fprintf(out, "\nFloor: %.1f Jobs/s; API server writes per Job while it ran: %s\n",
			float64(rep.Parameters["n"].(int))/rep.Floor.ConvergeSeconds, perResource(rep.Floor.WritesPerJob))
	}
	for _, o := range ops {
		if len(o.WritesPerRun) > 0 {
			fmt.Fprintf(out, "%s: API server writes per run while it converged: %s\n", o.Name, perResource(o.WritesPerRun))
		}
	}
}

// perResource renders "VERB resource 1.00, ..." sorted by key.
func perResource(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func writeRow(out io.Writer, cells []string) {
	fmt.Fprintf(out, "| %s |\n", strings.Join(cells, " | "))
}

func optMillis(v *float64) (string, float64) {
	if v == nil {
		return "n/a", -1
	}
	return fmt.Sprintf("%.1f", *v*1000), *v * 1000
}

func methods(ops []operatorResult) []string {
	set := map[string]bool{}
	for _, o := range ops {
		for m := range o.Requests {
			set[m] = true
		}
	}
	var out []string
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
