//go:build race

package queue

// raceEnabled: timing bounds of tests do not hold under the race
// detector, which makes the whole path several times slower.
const raceEnabled = true
