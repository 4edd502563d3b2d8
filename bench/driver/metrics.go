package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sample is one line of the Prometheus text format.
type sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// scrape is one read of an operator's /metrics.
type scrape []sample

func fetchMetrics(url string) (scrape, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseText(resp.Body)
}

// parseText reads the exposition format's sample lines; comments and
// anything it cannot parse are skipped (only a few families are used).
func parseText(r io.Reader) (scrape, error) {
	var out scrape
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, ok := parseLine(line)
		if ok {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

func parseLine(line string) (sample, bool) {
	s := sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, false
	}
	s.Name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		j := 1
		for j < len(rest) && rest[j] != '}' {
			eq := strings.IndexByte(rest[j:], '=')
			if eq < 0 {
				return s, false
			}
			key := strings.TrimSpace(strings.TrimLeft(rest[j:j+eq], ","))
			j += eq + 1
			if j >= len(rest) || rest[j] != '"' {
				return s, false
			}
			j++
			var val strings.Builder
			for j < len(rest) && rest[j] != '"' {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[j])
					}
				} else {
					val.WriteByte(rest[j])
				}
				j++
			}
			j++ // closing quote
			for j < len(rest) && (rest[j] == ',' || rest[j] == ' ') {
				j++
			}
			s.Labels[key] = val.String()
		}
		if j >= len(rest) {
			return s, false
		}
		rest = rest[j+1:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, false
	}
	s.Value = v
	return s, true
}

// sum adds the samples of name whose labels include match.
func (sc scrape) sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, s := range sc {
		if s.Name == name && labelsMatch(s.Labels, match) {
			total += s.Value
		}
	}
	return total
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// byLabel sums the samples of `name` by the value of `label`; nil when
// there are none.
func (sc scrape) byLabel(name, label string) map[string]float64 {
	var out map[string]float64
	for _, s := range sc {
		if s.Name == name {
			if out == nil {
				out = map[string]float64{}
			}
			out[s.Labels[label]] += s.Value
		}
	}
	return out
}

// requestsByMethod sums rest_client_requests_total by its method label.
func (sc scrape) requestsByMethod() map[string]float64 {
	out := map[string]float64{}
	for _, s := range sc {
		if s.Name == "rest_client_requests_total" {
			out[s.Labels["method"]] += s.Value
		}
	}
	return out
}

func diffByMethod(after, before map[string]float64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := int64(math.Round(v - before[k])); d != 0 {
			out[k] = d
		}
	}
	return out
}

// writeVerbs are the HTTP methods that change state on the API server.
var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE"}

func writes(byMethod map[string]int64) int64 {
	var n int64
	for _, v := range writeVerbs {
		n += byMethod[v]
	}
	return n
}

type bucket struct {
	le    float64
	count float64
}

// histogram returns the cumulative buckets of name{match} (summed over any
// other labels), sorted by upper bound.
func (sc scrape) histogram(name string, match map[string]string) []bucket {
	byLe := map[float64]float64{}
	for _, s := range sc {
		if s.Name != name+"_bucket" || !labelsMatch(s.Labels, match) {
			continue
		}
		le, err := strconv.ParseFloat(s.Labels["le"], 64)
		if err != nil {
			continue
		}
		byLe[le] += s.Value
	}
	out := make([]bucket, 0, len(byLe))
	for le, c := range byLe {
		out = append(out, bucket{le, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

// histogramDelta subtracts before from after bucket by bucket.
func histogramDelta(after, before []bucket) []bucket {
	prev := map[float64]float64{}
	for _, b := range before {
		prev[b.le] = b.count
	}
	out := make([]bucket, len(after))
	for i, b := range after {
		out[i] = bucket{b.le, b.count - prev[b.le]}
	}
	return out
}

// quantile interpolates linearly inside the bucket holding rank q, as
// PromQL's histogram_quantile does; NaN when the histogram is empty. A rank
// in the +Inf bucket reports the highest finite bound.
func quantile(q float64, buckets []bucket) float64 {
	if len(buckets) == 0 {
		return math.NaN()
	}
	total := buckets[len(buckets)-1].count
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lowerBound, lowerCount := 0.0, 0.0
	for _, b := range buckets {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return lowerBound
			}
			if b.count == lowerCount {
				return b.le
			}
			return lowerBound + (b.le-lowerBound)*(rank-lowerCount)/(b.count-lowerCount)
		}
		lowerBound, lowerCount = b.le, b.count
	}
	return lowerBound
}
