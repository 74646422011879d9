package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/suite"
	"github.com/spf13/cobra"
)

func newPolicyTestCmd(e *env) *cobra.Command {
	var runPat, junit string
	var verbose bool
	var out output
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run policy test suites (*_test.yaml) against their policies",
		Long: `Test runs every *_test.yaml suite in the given files and directories
(directories are searched recursively; the default is "."). A suite names
its policy (a path relative to the suite, or template:NAME; by default
NAME.policy next to NAME_test.yaml), declares fixtures (principals, teams,
bindings, resources) and states expectations case by case or as tables.
docs/policy-tests.md describes the format.

Exit status: 0 every case passed, 1 a case failed, 2 a suite or its policy
is invalid (errors are printed as file:line:col: error: message).`,
		Example: `  gatehouse policy test templates/
  gatehouse policy test examples/agents_test.yaml --run 'Triage' -v
  gatehouse policy test . --junit policy-tests.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			var re *regexp.Regexp
			if runPat != "" {
				var err error
				if re, err = regexp.Compile(runPat); err != nil {
					return badInput("--run: %v", err)
				}
			}
			if len(args) == 0 {
				args = []string{"."}
			}
			files, err := suiteFiles(args)
			if err != nil {
				return err
			}
			return runSuites(e, files, re, verbose, out, junit)
		},
	}
	cmd.Flags().StringVar(&runPat, "run", "", "run only the cases whose name matches this regular expression")
	cmd.Flags().StringVar(&junit, "junit", "", "also write the results as JUnit XML to this file")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing cases too")
	addOutputFlag(cmd, &out)
	return cmd
}

// suiteFiles expands the arguments: files as given, directories walked
// for *_test.yaml and *_test.yml, sorted.
func suiteFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, badInput("%v", err)
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != a && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(p, "_test.yaml") || strings.HasSuffix(p, "_test.yml")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, badInput("%v", err)
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, badInput("no *_test.yaml suites in %s", strings.Join(args, ", "))
	}
	return files, nil
}

// caseJSON is one case's result in -o json.
type caseJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Name    string `json:"name"`
	Passed  bool   `json:"passed"`
	Got     string `json:"got"`
	Failure string `json:"failure,omitempty"`
}

// testSummary is `policy test -o json`'s answer.
type testSummary struct {
	Passed  int        `json:"passed"`
	Failed  int        `json:"failed"`
	Invalid []string   `json:"invalid"` // diagnostics of suites that could not run
	Cases   []caseJSON `json:"cases"`
}

func runSuites(e *env, files []string, re *regexp.Regexp, verbose bool, out output, junit string) error {
	sum := testSummary{Invalid: []string{}, Cases: []caseJSON{}}
	var reports []suite.Report
	invalid := func(lines ...string) {
		sum.Invalid = append(sum.Invalid, lines...)
		for _, l := range lines {
			fmt.Fprintln(e.stderr, l)
		}
	}
	for _, f := range files {
		src, err := readFileLimited(f)
		if err != nil {
			invalid(fmt.Sprintf("%s: error: %v", f, err))
			continue
		}
		s, diags := suite.Decode(f, src)
		if diags.HasErrors() {
			for _, d := range diags.Errors() {
				invalid(d.Error())
			}
			continue
		}
		m, err := suitePolicy(e, s)
		if err != nil {
			invalid(err.Error())
			continue
		}
		results, err := s.Run(m, re)
		if err != nil {
			invalid(fmt.Sprintf("%s: error: %v", s.PolicyPos, err))
			continue
		}
		reports = append(reports, suite.Report{Suite: s, Results: results})
		failed := 0
		for _, r := range results {
			c := caseJSON{File: r.Case.Pos.File, Line: r.Case.Pos.Line, Col: r.Case.Pos.Col,
				Name: r.Case.Name, Passed: r.Passed, Got: r.Got, Failure: r.Failure}
			sum.Cases = append(sum.Cases, c)
			if r.Passed {
				sum.Passed++
				if verbose && !out.machine() {
					fmt.Fprintf(e.stdout, "ok   %s: %s\n", r.Case.Pos, r.Case.Name)
				}
				continue
			}
			failed++
			sum.Failed++
			if !out.machine() {
				fmt.Fprintf(e.stdout, "FAIL %s: %s: %s\n", r.Case.Pos, r.Case.Name, r.Failure)
			}
		}
		if !out.machine() {
			status := "ok  "
			if failed > 0 {
				status = "FAIL"
			}
			fmt.Fprintf(e.stdout, "%s %s (%s): %d passed, %d failed\n", status, f, s.Policy, len(results)-failed, failed)
		}
	}
	if junit != "" {
		fh, err := os.Create(junit)
		if err != nil {
			return badInput("--junit: %v", err)
		}
		werr := suite.WriteJUnit(fh, reports)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return &exitError{code: ExitInternal, err: fmt.Errorf("--junit: %w", werr)}
		}
	}
	if out.machine() {
		if err := out.emit(e.stdout, sum); err != nil {
			return err
		}
	} else if re != nil && sum.Passed+sum.Failed == 0 {
		fmt.Fprintf(e.stdout, "no case matches --run %q\n", re)
	}
	switch {
	case len(sum.Invalid) > 0:
		return silentExit(ExitBadInput)
	case sum.Failed > 0:
		return silentExit(ExitDeny)
	}
	return nil
}

// suitePolicy loads the policy a suite names: template:NAME, or a path
// relative to the suite's directory. Its errors come back positioned.
func suitePolicy(e *env, s *suite.Suite) (*policy.Model, error) {
	arg := s.Policy
	if !strings.HasPrefix(arg, "template:") && !filepath.IsAbs(arg) {
		arg = filepath.Join(filepath.Dir(s.File), filepath.FromSlash(arg))
	}
	name, src, err := readPolicy(e, arg)
	if err != nil {
		return nil, fmt.Errorf("%s: error: policy %s: %v", s.PolicyPos, s.Policy, errorText(err))
	}
	m, diags := policy.Load(name, src, policy.LintOptions{})
	if diags.HasErrors() {
		var lines []string
		for _, d := range diags.Errors() {
			lines = append(lines, d.Error())
		}
		return nil, fmt.Errorf("%s\n%s: error: policy %s has %d error(s)", strings.Join(lines, "\n"), s.PolicyPos, s.Policy, len(lines))
	}
	return m, nil
}

func errorText(err error) string {
	if ee, ok := err.(*exitError); ok && ee.err != nil {
		return ee.err.Error()
	}
	return err.Error()
}
