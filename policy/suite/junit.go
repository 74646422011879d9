package suite

import (
	"encoding/xml"
	"io"
)

// Report is the results of one suite, for WriteJUnit.
type Report struct {
	Suite   *Suite
	Results []Result
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	File     string      `xml:"file,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the reports as JUnit XML, the format CI systems read:
// one <testsuite> per file, one <testcase> per case run.
func WriteJUnit(w io.Writer, reports []Report) error {
	out := junitSuites{Suites: []junitSuite{}}
	for _, rep := range reports {
		name := rep.Suite.Name
		if name == "" {
			name = rep.Suite.File
		}
		js := junitSuite{Name: name, File: rep.Suite.File, Tests: len(rep.Results)}
		for _, r := range rep.Results {
			jc := junitCase{Name: r.Case.Name, ClassName: name, File: r.Case.Pos.File, Line: r.Case.Pos.Line}
			if !r.Passed {
				js.Failures++
				jc.Failure = &junitFailure{Message: r.Failure, Text: r.Case.Pos.String() + ": " + r.Failure}
			}
			js.Cases = append(js.Cases, jc)
		}
		out.Tests += js.Tests
		out.Failures += js.Failures
		out.Suites = append(out.Suites, js)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
