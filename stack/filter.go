package stack

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
)

// Filter returns the functions whose names match filter (a glob such as
// "api-*") or regex, sorted by name; with neither, all of them. Like
// faas-cli, both at once is an error, and so is matching nothing.
func Filter(fns map[string]Function, filter, regex string) ([]Function, error) {
	if filter != "" && regex != "" {
		return nil, errors.New("pass --filter or --regex, not both")
	}
	var re *regexp.Regexp
	if regex != "" {
		var err error
		if re, err = regexp.Compile(regex); err != nil {
			return nil, fmt.Errorf("--regex %q is not a regular expression: %v", regex, err)
		}
	}
	if filter != "" {
		if _, err := path.Match(filter, ""); err != nil {
			return nil, fmt.Errorf("--filter %q is not a glob pattern such as \"api-*\"", filter)
		}
	}
	out := make([]Function, 0, len(fns))
	for name, fn := range fns {
		fn.Name = name
		switch {
		case re != nil && !re.MatchString(name):
			continue
		case filter != "":
			if ok, _ := path.Match(filter, name); !ok {
				continue
			}
		}
		out = append(out, fn)
	}
	if len(out) == 0 {
		if filter != "" || regex != "" {
			return nil, errors.New("no functions match --filter/--regex: check the names under `functions:`")
		}
		return nil, errors.New("no functions defined: add one under `functions:`")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
