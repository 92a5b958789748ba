#!/bin/sh
# Checks a compare directory's report.html in headless Chromium: renders it to
# report.png (look at it) and, in the browser, checks that every chart draws a
# line for every variant and that each variant's markers can be seen (some
# part of a marker of every series is the topmost thing on the page at its
# spot, so lines that coincide are still told apart), that latency charts
# have log ticks, and that --repeat comparisons draw range bars.
#
#   scripts/check-compare-report.sh results/compare-queue-clients-<timestamp>
#
# Needs chromium (Debian: apt-get install -y chromium) and python3. Exit 0
# when every check holds, 1 otherwise; CI does not run it (no chromium
# there): Tests/ReportsTests/ComparisonReportTests.swift checks the SVG itself.
set -eu
dir=${1:?usage: $0 COMPARE_DIR}
page="$dir/report.html"
[ -f "$page" ] || { echo "no report.html in $dir" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "no chromium on PATH (apt-get install -y chromium)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags="--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=$work/profile"

# The screenshot, full width and tall enough for every chart.
"$browser" $flags --window-size=1280,5200 --screenshot="$dir/report.png" "file://$(realpath "$page")" >/dev/null 2>&1
echo "screenshot: $dir/report.png"

# The page with a probe that measures the rendered charts and writes its findings into the DOM.
cat > "$work/probe.js" <<'JS'
const out = [];
for (const svg of document.querySelectorAll("svg.chart")) {
  const chart = {id: svg.id, series: [], yTicks: [...svg.querySelectorAll("g.y-ticks text")].map(t => t.textContent)};
  for (const g of svg.querySelectorAll("g.series")) {
    const line = g.querySelector("polyline");
    const markers = [...g.querySelectorAll(".marker")];
    // A marker is visible when some spot of it (its edges, its centre) is topmost: not covered by another series.
    let visible = 0;
    for (const m of markers) {
      const b = m.getBoundingClientRect();
      const spots = [[b.left + 1.5, b.top + b.height / 2], [b.right - 1.5, b.top + b.height / 2], [b.left + b.width / 2, b.top + 1.5],
                     [b.left + b.width / 2, b.bottom - 1.5], [b.left + b.width / 2, b.top + b.height / 2]];
      if (spots.some(([x, y]) => { const hit = document.elementFromPoint(x, y); return hit !== null && g.contains(hit); })) visible++;
    }
    chart.series.push({name: g.getAttribute("data-series"), stroke: getComputedStyle(g).stroke,
      dash: line ? getComputedStyle(line).strokeDasharray : "none", lineLength: line ? line.getTotalLength() : 0,
      markers: markers.length, visibleMarkers: visible, ranges: g.querySelectorAll("g.ranges path").length});
  }
  out.push(chart);
}
const pre = document.createElement("pre");
pre.id = "probe";
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
JS
python3 - "$page" "$work/probe.js" "$work/probe.html" <<'PY'
import sys
page, probe, out = (open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3])
open(out, "w").write(page.replace("</body>", "<script>\n" + probe + "</script>\n</body>"))
PY
"$browser" $flags --window-size=1280,5200 --virtual-time-budget=2000 --dump-dom "file://$work/probe.html" 2>/dev/null > "$work/dom.html"

python3 - "$work/dom.html" "$dir/comparison.json" <<'PY'
import html, json, re, sys
dom = open(sys.argv[1]).read()
match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
if not match:
    print("the probe did not run (no #probe in the dumped DOM)"); sys.exit(1)
charts = json.loads(html.unescape(match.group(1)))
comparison = json.load(open(sys.argv[2]))
repeated = comparison["repeats"] > 1
groups = []
for cell in comparison["cells"]:
    rest = ", ".join(f"{s['name']}={cell['point'][s['name']]}" for s in comparison["sweeps"][1:])
    label = cell["variant"] + (", " + rest if rest else "")
    if label not in groups: groups.append(label)
problems = []
for chart in charts:
    names = [s["name"] for s in chart["series"]]
    if names != groups: problems.append(f"{chart['id']}: series {names}, expected {groups}")
    styles = {(s["stroke"], s["dash"]) for s in chart["series"]}
    if len(styles) != len(chart["series"]): problems.append(f"{chart['id']}: two series share colour and dash")
    for s in chart["series"]:
        where = f"{chart['id']} / {s['name']}"
        if s["markers"] == 0: problems.append(f"{where}: no markers")
        elif s["visibleMarkers"] == 0: problems.append(f"{where}: every marker is hidden under another series")
        if s["markers"] > 1 and s["lineLength"] <= 0: problems.append(f"{where}: no line drawn")
        if repeated and s["ranges"] == 0 and chart["id"] in ("chart-tps", "chart-p99"): problems.append(f"{where}: no range bars with --repeat")
    if chart["id"] in ("chart-p50", "chart-p99"):
        ticks = chart["yTicks"]
        if not ticks or not all(t.endswith(" ms") or t.endswith(" s") for t in ticks): problems.append(f"{chart['id']}: y ticks {ticks} are not latencies")
    print(f"{chart['id']:<22} " + "; ".join(f"{s['name']}: {s['visibleMarkers']}/{s['markers']} markers visible, {s['ranges']} bars" for s in chart["series"]) + (f"  y: {' '.join(chart['yTicks'])}" if chart["id"] in ("chart-p50", "chart-p99") else ""))
if problems:
    print("\n".join(["PROBLEMS:"] + problems)); sys.exit(1)
print(f"OK: {len(charts)} charts, every one with all {len(groups)} series visible")
PY
