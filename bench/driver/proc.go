package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat; 100 on
// every Linux architecture Go supports for this machine kind.
const clockTicks = 100

// procSample is what /proc says about one process at one moment.
type procSample struct {
	RSSBytes   int64
	Threads    int64
	FDs        int64
	CPUSeconds float64
}

func readProc(pid int) (procSample, error) {
	var s procSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "VmRSS:":
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			s.RSSBytes = kb * 1024
		case "Threads:":
			s.Threads, _ = strconv.ParseInt(fields[1], 10, 64)
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may contain spaces; fields after its closing
	// parenthesis are fixed: utime and stime are the 14th and 15th.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) > 12 {
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		s.CPUSeconds = (ut + st) / clockTicks
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = int64(len(fds))
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// operatorProcess is one operator binary started by the benchmark.
type operatorProcess struct {
	name       string
	cmd        *exec.Cmd
	metricsURL string
	readyURL   string
	exited     chan struct{}
	startedAt  time.Time
	logFile    *os.File
}

type operatorSpec struct {
	Name   string
	Binary string
	// Args builds the command line from the metrics and probe addresses.
	Args func(metricsAddr, probeAddr string) []string
}

func startOperator(spec operatorSpec, logDir string, generation int) (*operatorProcess, error) {
	mp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", mp)
	probeAddr := fmt.Sprintf("127.0.0.1:%d", pp)
	logPath := filepath.Join(logDir, fmt.Sprintf("%s-%d.log", spec.Name, generation))
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Binary, spec.Args(metricsAddr, probeAddr)...)
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", spec.Binary, err)
	}
	p := &operatorProcess{
		name: spec.Name, cmd: cmd, metricsURL: "http://" + metricsAddr + "/metrics",
		readyURL: "http://" + probeAddr + "/readyz", exited: make(chan struct{}),
		startedAt: time.Now(), logFile: lf,
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *operatorProcess) pid() int { return p.cmd.Process.Pid }

// waitReady polls /readyz and /metrics until both answer 200.
func (p *operatorProcess) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during start (log: %s)", p.name, p.logFile.Name())
		default:
		}
		ok := true
		for _, u := range []string{p.readyURL, p.metricsURL} {
			resp, err := hc.Get(u)
			if err != nil {
				ok = false
				break
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %s (log: %s)", p.name, timeout, p.logFile.Name())
}

// stop sends SIGTERM and waits; SIGKILL after the grace period.
func (p *operatorProcess) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.logFile.Close()
}

// rssSampler records the highest resident set seen while it runs.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak int64
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if ps, err := readProc(pid); err == nil && ps.RSSBytes > s.peak {
				s.peak = ps.RSSBytes
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.peak
}

// planeCPU reads the CPU seconds (utime + stime) each of the plane's processes
// has used so far, by component name: hack/cluster-up.sh writes one file per
// component into dir, its first field the pid. An empty dir, or a component
// that is not running, gives no entry.
func planeCPU(dir string) map[string]float64 {
	out := map[string]float64{}
	if dir == "" {
		return out
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(raw))
		if len(fields) == 0 {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil {
			continue
		}
		if s, err := readProc(pid); err == nil {
			out[e.Name()] = s.CPUSeconds
		}
	}
	return out
}

// cpuDelta is after − before per component, for components in both.
func cpuDelta(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, a := range after {
		if b, ok := before[k]; ok {
			out[k] = a - b
		}
	}
	return out
}

func cpuTotal(byComponent map[string]float64) float64 {
	t := 0.0
	for _, v := range byComponent {
		t += v
	}
	return t
}
