// Package dockerfile reads the subset of Dockerfile syntax the driver's
// Dockerfile uses (FROM, ARG, WORKDIR, COPY, RUN, LABEL, USER, ENTRYPOINT in
// exec form), so that the daemonless image build and the tests take the
// image's definition from the Dockerfile itself instead of repeating it.
package dockerfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Instruction is one logical line: continuations joined, comments dropped.
type Instruction struct {
	Cmd  string // upper case: FROM, COPY, ...
	Args string
}

// Stage is one FROM and what follows it.
type Stage struct {
	From, Name   string
	Instructions []Instruction
}

// File is a parsed Dockerfile.
type File struct {
	Stages []Stage
}

// ParseFile reads and parses the Dockerfile at path.
func ParseFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse parses a Dockerfile.
func Parse(r io.Reader) (*File, error) {
	var df File
	var cur strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cont := strings.HasSuffix(l, "\\")
		cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
		if cont {
			continue
		}
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, args, _ := strings.Cut(line, " ")
		in := Instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			var st Stage
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					st.Name = f[i+1]
					i++
				default:
					st.From = f[i]
				}
			}
			df.Stages = append(df.Stages, st)
			continue
		}
		if len(df.Stages) == 0 {
			if in.Cmd == "ARG" {
				continue // a global ARG before the first FROM
			}
			return nil, fmt.Errorf("%s before the first FROM", in.Cmd)
		}
		s := &df.Stages[len(df.Stages)-1]
		s.Instructions = append(s.Instructions, in)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return &df, nil
}

// Stage returns the stage named name.
func (f *File) Stage(name string) (Stage, error) {
	for _, s := range f.Stages {
		if s.Name == name {
			return s, nil
		}
	}
	return Stage{}, fmt.Errorf("no stage named %q", name)
}

// Final is the last stage: the image.
func (f *File) Final() Stage { return f.Stages[len(f.Stages)-1] }

// All returns the arguments of every instruction cmd, in order.
func (s Stage) All(cmd string) []string {
	var out []string
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in.Args)
		}
	}
	return out
}

// Args are the stage's ARG defaults, overridden by given (build args).
func (s Stage) Args(given map[string]string) map[string]string {
	args := map[string]string{}
	for _, a := range s.All("ARG") {
		k, v, _ := strings.Cut(a, "=")
		args[k] = v
		if g, ok := given[k]; ok {
			args[k] = g
		}
	}
	return args
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Expand replaces $NAME and ${NAME} with args; a name without a value is an
// error, not an empty string.
func Expand(s string, args map[string]string) (string, error) {
	var missing []string
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		k := sub[1] + sub[2]
		v, ok := args[k]
		if !ok {
			missing = append(missing, k)
		}
		return v
	})
	if missing != nil {
		return "", fmt.Errorf("no value for %s in %q", strings.Join(missing, ", "), s)
	}
	return out, nil
}

// Words splits s as a shell would for the plain words, double-quoted and
// single-quoted strings this Dockerfile uses (no expansion).
func Words(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// Labels are the stage's LABEL key="value" pairs, expanded with args.
func (s Stage) Labels(args map[string]string) (map[string]string, error) {
	labels := map[string]string{}
	for _, l := range s.All("LABEL") {
		words, err := Words(l)
		if err != nil {
			return nil, err
		}
		for _, w := range words {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				return nil, fmt.Errorf("LABEL %q: not key=value", w)
			}
			if v, err = Expand(v, args); err != nil {
				return nil, err
			}
			if uk, err := strconv.Unquote(k); err == nil {
				k = uk
			}
			labels[k] = v
		}
	}
	return labels, nil
}

// Last returns the arguments of the stage's last instruction cmd, or "".
func (s Stage) Last(cmd string) string {
	all := s.All(cmd)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// Entrypoint is the stage's ENTRYPOINT, which must be in exec (JSON) form.
func (s Stage) Entrypoint() ([]string, error) {
	e := s.Last("ENTRYPOINT")
	var out []string
	if err := json.Unmarshal([]byte(e), &out); err != nil {
		return nil, fmt.Errorf("ENTRYPOINT %q is not in exec form: %w", e, err)
	}
	return out, nil
}

// Copy is one COPY: sources, destination and --from stage (empty: the
// build context).
type Copy struct {
	From string
	Srcs []string
	Dst  string
}

// Copies are the stage's COPY instructions.
func (s Stage) Copies() ([]Copy, error) {
	var out []Copy
	for _, c := range s.All("COPY") {
		f := strings.Fields(c)
		var cp Copy
		for len(f) > 0 && strings.HasPrefix(f[0], "--") {
			if v, ok := strings.CutPrefix(f[0], "--from="); ok {
				cp.From = v
			}
			f = f[1:]
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("COPY %q: needs a source and a destination", c)
		}
		cp.Srcs, cp.Dst = f[:len(f)-1], f[len(f)-1]
		out = append(out, cp)
	}
	return out, nil
}
