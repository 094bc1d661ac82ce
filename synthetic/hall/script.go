package hall

import "fmt"

// A script is the loop of events a room plays: step n (from 0) yields the
// kind and data of the room's event n+1. Scripts are pure functions of the
// step, so every connection and every run sees the same opening.
type script func(step uint64) (kind string, data any)

// scriptFor returns the script of a room kind.
func scriptFor(kind string) script {
	if kind == KindCoordinationRoom {
		return coordinationScript
	}
	return openingScript
}

// Event data of an opening hall.
type (
	countdownData struct {
		RemainingS int `json:"remaining_s"`
	}
	signInData struct {
		SignedIn int `json:"signed_in"`
		Expected int `json:"expected"`
	}
	decryptionData struct {
		ProgressPct int `json:"progress_pct"`
		Decrypted   int `json:"decrypted"`
		Total       int `json:"total"`
	}
	bidReadingData struct {
		Bidder       string `json:"bidder"`
		PriceYuan    yuan   `json:"price_yuan"`
		DurationDays int    `json:"duration_days"`
	}
)

// bidders are the opening's bidders, read out in this order.
var bidders = [...]string{
	"扬州某建设工程有限公司",
	"南京某路桥工程有限公司",
	"江苏某建筑安装集团有限公司",
	"苏州某市政工程有限公司",
	"泰州某水利建设有限公司",
	"镇江某园林绿化工程有限公司",
	"无锡某建工集团有限公司",
	"常州某装饰工程有限公司",
	"南通某建设集团有限公司",
	"盐城某交通工程有限公司",
	"淮安某建筑工程有限公司",
	"宿迁某城建工程有限公司",
	"徐州某基础工程有限公司",
	"连云港某港务工程有限公司",
	"高邮某土木工程有限公司",
}

// The phases of an opening, in steps (one event each).
const (
	countdownSteps  = 10
	signInSteps     = 5
	decryptionSteps = 5
	openingLoop     = countdownSteps + signInSteps + decryptionSteps + len(bidders)
)

// openingScript plays a bid opening (开标): the countdown to the opening
// time, bidders signing in, bids being decrypted, then each bid read out;
// then it starts over.
func openingScript(step uint64) (string, any) {
	i := int(step % uint64(openingLoop))
	total := len(bidders)
	switch {
	case i < countdownSteps:
		return "countdown", countdownData{RemainingS: countdownSteps - i}
	case i < countdownSteps+signInSteps:
		k := i - countdownSteps + 1
		return "sign_in", signInData{SignedIn: total * k / signInSteps, Expected: total}
	case i < countdownSteps+signInSteps+decryptionSteps:
		k := i - countdownSteps - signInSteps + 1
		return "decryption", decryptionData{
			ProgressPct: 100 * k / decryptionSteps,
			Decrypted:   total * k / decryptionSteps,
			Total:       total,
		}
	default:
		b := i - countdownSteps - signInSteps - decryptionSteps
		return "bid_reading", bidReadingData{
			Bidder:       bidders[b],
			PriceYuan:    bidPrice(b),
			DurationDays: []int{365, 360, 330, 300, 350}[b%5],
		}
	}
}

// bidPrice is bidder b's price: spread within ±6 % around a 12.3-million
// budget, to the fen, the same every loop.
func bidPrice(b int) yuan {
	const budget = 12_345_678.00
	spread := float64((b*7919)%121-60) / 1000 // -0.060 … +0.060
	fen := int64(budget * (1 + spread) * 100)
	return yuan(float64(fen) / 100)
}

// Event data of a coordination room.
type (
	expertSignInData struct {
		SignedIn int `json:"signed_in"`
		Expected int `json:"expected"`
	}
	reviewData struct {
		Stage       string `json:"stage"`
		ProgressPct int    `json:"progress_pct"`
	}
	scoringData struct {
		Expert string `json:"expert"`
		Scored int    `json:"scored"`
		Total  int    `json:"total"`
	}
)

// reviewStages are the stages of off-site evaluation, in order.
var reviewStages = [...]string{"资格审查", "符合性审查", "详细评审"}

// The phases of an evaluation, in steps.
const (
	experts          = 5
	reviewStepsEach  = 4
	coordinationLoop = experts + len(reviewStages)*reviewStepsEach + experts
)

// coordinationScript plays an off-site evaluation (远程异地评标): experts
// signing in, the review stages, then each expert's scoring; then it starts
// over.
func coordinationScript(step uint64) (string, any) {
	i := int(step % uint64(coordinationLoop))
	switch {
	case i < experts:
		return "expert_sign_in", expertSignInData{SignedIn: i + 1, Expected: experts}
	case i < experts+len(reviewStages)*reviewStepsEach:
		k := i - experts
		return "review", reviewData{
			Stage:       reviewStages[k/reviewStepsEach],
			ProgressPct: 100 * (k%reviewStepsEach + 1) / reviewStepsEach,
		}
	default:
		e := i - experts - len(reviewStages)*reviewStepsEach
		return "scoring", scoringData{Expert: fmt.Sprintf("专家%d", e+1), Scored: len(bidders), Total: len(bidders)}
	}
}
