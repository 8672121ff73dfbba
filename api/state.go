package api

// The states of a function, one word (or two) a person reads at a glance in
// `ferry list`, `ferry describe` and the portal.
const (
	StateReady        = "Ready"
	StateStarting     = "Starting"
	StateUpdating     = "Updating"
	StateCrashLoop    = "CrashLoop"
	StateScaledToZero = "Scaled to zero"
	StateFailed       = "Failed"
)

// failedReasons are Ready reasons a function does not recover from by
// itself: it needs a new deployment.
var failedReasons = map[string]bool{"CannotRun": true, "PodFailure": true}

// StateOf sums a status up as one of the State constants, from its Ready
// condition when the provider gives one, else from its replica counts.
func StateOf(s FunctionStatus) string {
	for _, c := range s.Conditions {
		if c.Type != "Ready" {
			continue
		}
		switch {
		case c.Reason == "CrashLoop":
			return StateCrashLoop
		case failedReasons[c.Reason]:
			return StateFailed
		case c.Reason == "ScaledToZero" || s.Replicas == 0 && c.Status == "True":
			return StateScaledToZero
		case c.Status == "True":
			return StateReady
		case c.Reason == "Updating":
			return StateUpdating
		}
		return StateStarting
	}
	switch {
	case s.Replicas == 0:
		return StateScaledToZero
	case s.AvailableReplicas >= s.Replicas:
		return StateReady
	}
	return StateStarting
}
