package report

import (
	"math"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// Server is one server's health over the period: its checks and the trend
// of each reading (CPU, database connections and space, disk …).
type Server struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Checks   int64    `json:"checks"`
	Failed   int64    `json:"failed"`
	FailRate Num      `json:"fail_rate"`
	Metrics  []Metric `json:"metrics"`
}

// Metric is one reading's trend: per hour or day (the report's series
// step), its mean and maximum.
type Metric struct {
	// Name is the reading (cpu_pct, db_conns_pct, disk_pct …; latency_ms
	// for the check's own latency); Label it in Chinese.
	Name   string        `json:"name"`
	Label  string        `json:"label"`
	Mean   Num           `json:"mean"`
	Max    Num           `json:"max"`
	Points []HealthPoint `json:"points"`
}

// HealthPoint is a reading over one hour or day.
type HealthPoint struct {
	At   time.Time `json:"at"`
	Mean Num       `json:"mean"`
	Max  Num       `json:"max"`
}

// MetricLabel names a reading in Chinese.
func MetricLabel(name string) string {
	switch name {
	case "cpu_pct":
		return "CPU 使用率（%）"
	case "mem_pct":
		return "内存使用率（%）"
	case "db_conns_pct":
		return "数据库连接（%）"
	case "db_space_pct":
		return "数据库空间（%）"
	case "disk_pct":
		return "磁盘使用率（%）"
	case "tls_expiry_days":
		return "证书剩余天数"
	case latencyMetric:
		return "检查耗时（毫秒）"
	}
	return name
}

// latencyMetric names the check's latency (HealthRow.Metric "").
const latencyMetric = "latency_ms"

// valAcc sums a reading.
type valAcc struct {
	n        int64
	sum, max float64
}

func (v *valAcc) add(r *rollup.HealthRow) {
	if r.N == 0 {
		return
	}
	if v.n == 0 || r.Max > v.max {
		v.max = r.Max
	}
	v.n += r.N
	v.sum += r.Sum
}

func (v *valAcc) mean() Num {
	if v.n == 0 {
		return nanNum()
	}
	return Num(v.sum / float64(v.n))
}

func (v *valAcc) maxNum() Num {
	if v.n == 0 {
		return nanNum()
	}
	return Num(v.max)
}

// serverAcc sums one server's health rows per reading and bucket.
type serverAcc struct {
	checks, failed int64
	metrics        map[string][]valAcc // per bucket
	totals         map[string]*valAcc
}

func nanNum() Num { return Num(math.NaN()) }
