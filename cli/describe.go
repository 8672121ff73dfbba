package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/spf13/cobra"
)

func init() { register(newDescribeCmd) }

func newDescribeCmd() *cobra.Command {
	var r remote
	var namespace string
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a function's status, replicas, conditions and settings",
		Example: `  ferry describe echo
  ferry describe echo.dev        # or --namespace dev
  ferry describe echo -o json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.outputClient()
			if err != nil {
				return err
			}
			name, ns := splitName(args[0], namespace)
			st, err := c.Get(cmd.Context(), name, ns)
			if err != nil {
				return hint404(err, "ferry list")
			}
			if r.output == "json" {
				return printJSON(cmd.OutOrStdout(), st)
			}
			describe(cmd.OutOrStdout(), c.Gateway, st, time.Now())
			return nil
		},
	}
	addRemoteFlags(cmd, &r, true)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace (default: the gateway's)")
	return cmd
}

func describe(w io.Writer, gw string, st api.FunctionStatus, now time.Time) {
	status := state(st)
	for _, c := range st.Conditions {
		if c.Type == "Ready" && c.Message != "" && status != api.StateReady {
			status += " (" + c.Message + ")"
		}
	}
	url := gw + "/function/" + st.Name
	if st.Namespace != "" && st.Namespace != api.DefaultNamespace {
		url += "." + st.Namespace
	}
	kv := func(k, v string) { fmt.Fprintf(w, "%-20s %s\n", k+":", v) }
	kv("Name", st.Name)
	kv("Namespace", st.Namespace)
	kv("Status", status)
	kv("Image", st.Image)
	if st.EnvProcess != "" {
		kv("Process", st.EnvProcess)
	}
	kv("Replicas", fmt.Sprintf("%d desired, %d ready, %d available", st.Replicas, st.ReadyReplicas, st.AvailableReplicas))
	if st.Restarts > 0 {
		kv("Restarts", fmt.Sprint(st.Restarts))
	}
	kv("Invocations", fmtCount(st.InvocationCount))
	kv("URL", url)
	kv("Async URL", strings.Replace(url, "/function/", "/async-function/", 1))
	if !st.CreatedAt.IsZero() {
		kv("Created", st.CreatedAt.Format(time.RFC3339)+" ("+age(st.CreatedAt, now)+" ago)")
	}
	if st.Usage != nil {
		kv("Usage", fmt.Sprintf("cpu %.2f, memory %.1f MiB", st.Usage.CPU, st.Usage.TotalMemoryBytes/(1<<20)))
	}
	if st.Limits != nil {
		kv("Limits", resourcesString(st.Limits))
	}
	if st.Requests != nil {
		kv("Requests", resourcesString(st.Requests))
	}
	if st.ReadOnlyRootFilesystem {
		kv("Read-only root", "true")
	}
	if len(st.Secrets) > 0 {
		kv("Secrets", strings.Join(st.Secrets, ", "))
	}
	if len(st.Constraints) > 0 {
		kv("Constraints", strings.Join(st.Constraints, ", "))
	}
	if a := st.Autoscaler; a != nil {
		kv("Autoscaler", fmt.Sprintf("%d -> %d at %s: %s (desired %d, observed %.2f)",
			a.From, a.To, a.Time.Format(time.RFC3339), a.Reason, a.Desired, a.Observed))
	}
	if len(st.Conditions) > 0 {
		fmt.Fprintln(w, "Conditions:")
		for _, c := range st.Conditions {
			line := fmt.Sprintf("  %-16s %-7s %s", c.Type, c.Status, c.Reason)
			if c.Message != "" {
				line += ": " + c.Message
			}
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
	}
	section(w, "Environment", st.EnvVars)
	section(w, "Labels", st.Labels)
	section(w, "Annotations", st.Annotations)
}

func section(w io.Writer, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintln(w, title+":")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s=%s\n", k, m[k])
	}
}

func resourcesString(r *api.Resources) string {
	var parts []string
	if r.Memory != "" {
		parts = append(parts, "memory "+r.Memory)
	}
	if r.CPU != "" {
		parts = append(parts, "cpu "+r.CPU)
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+" "+r.Extra[k])
	}
	return strings.Join(parts, ", ")
}
