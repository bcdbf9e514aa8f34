package main

import (
	"html/template"
	"io"
	"path/filepath"
)

// page is the index.html of an output folder: its tables, links to its
// files and its figures, every one by a path relative to the folder, so
// that the page works offline and when the folder is moved. The page is
// well-formed XML (XHTML syntax) and loads nothing from outside.
type page struct {
	Title   string
	Intro   []string
	Tables  []htmlTable
	Links   []link   // other pages and data files
	Figures []figure // images shown on the page
}

type htmlTable struct {
	Caption string
	Header  []string // none: a table of (quantity, value) rows
	Rows    [][]string
}

type link struct{ Href, Text string }

type figure struct{ File, Caption string }

// pageTemplate escapes every text and attribute (html/template).
var pageTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; max-width: 75em; }
table { border-collapse: collapse; margin: 1em 0; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; font-family: monospace; }
th { background: #eee; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Intro}}<p>{{.}}</p>
{{end}}{{range .Tables}}<table>
{{if .Caption}}<caption>{{.Caption}}</caption>
{{end}}{{if .Header}}<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
{{end}}<tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}{{if .Links}}<ul>
{{range .Links}}<li><a href="{{.Href}}">{{.Text}}</a></li>
{{end}}</ul>
{{end}}{{range .Figures}}<figure>
<a href="{{.File}}"><img src="{{.File}}" alt="{{.Caption}}"/></a>
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}</body>
</html>
`))

// writePage writes p as dir/index.html.
func writePage(dir string, p page) error {
	return writeFile(filepath.Join(dir, "index.html"), func(w io.Writer) error {
		return pageTemplate.Execute(w, p)
	})
}

// figureCaptions describe the figures of a run.
var figureCaptions = map[string]string{
	"loss.png":       "training loss (Eq. 7) per epoch",
	"trajectory.png": "network, ground truth (DOP853) and symplectic Euler per coordinate",
	"error.png":      "error against the ground truth per coordinate",
	"energy.png":     "energy H(t) and its error |H - E0|",
	"residual.png":   "residual ℓ(t) of Hamilton's equations (Eq. 14)",
	"bounds.png":     "true error and its a-posteriori estimates (Eq. 18, 22, Gronwall)",
	"phase.png":      "phase space and the phase space of the error",
	"orbit.png":      "orbit in the q1-q2 plane",
	"ablation.png":   "training loss of every activation and parametrisation",
}

// runFiles are the figures and the data files that writeOutputs writes
// for r, in the order the page shows them.
func runFiles(r *results) (figures, data []string) {
	figures = []string{"loss.png", "trajectory.png", "error.png", "energy.png", "residual.png"}
	if r.bounds.Report != nil {
		figures = append(figures, "bounds.png")
	}
	if len(r.coords) == 2 {
		figures = append(figures, "phase.png")
	} else {
		figures = append(figures, "orbit.png")
	}
	data = []string{"summary.json", "model.json", "loss.csv", "trajectory.csv", "error.csv", "energy.csv", "residual.csv"}
	if r.bounds.Report != nil {
		data = append(data, "bounds.csv", "error_analysis.txt")
	}
	for _, eu := range []*eulerRun{r.eulerK, r.eulerF} {
		if eu.ok() {
			data = append(data, "euler_"+eu.label+".csv")
		}
	}
	return figures, data
}

// filePage is a page of one table, the data files as links and the
// figures.
func filePage(title string, intro []string, table htmlTable, figures, data []string) page {
	p := page{Title: title, Intro: intro, Tables: []htmlTable{table}}
	for _, f := range data {
		p.Links = append(p.Links, link{Href: f, Text: f})
	}
	for _, f := range figures {
		p.Figures = append(p.Figures, figure{File: f, Caption: f + ": " + figureCaptions[f]})
	}
	return p
}

// writeRunIndex writes the index.html of a run: the summary table as
// printed, every figure, and links to the data files.
func writeRunIndex(r *results) error {
	title, rows := tableRows(r)
	t := htmlTable{Caption: "summary (as printed; summary.json has every figure)"}
	for _, row := range rows {
		t.Rows = append(t.Rows, []string{row[0], row[1]})
	}
	figures, data := runFiles(r)
	return writePage(r.cfg.out, filePage(title, nil, t, figures, data))
}
