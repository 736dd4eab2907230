using System.Globalization;
using System.Net;
using System.Text;

namespace SecureFed.Audit.Reports;

/// <summary>One line of a <see cref="SvgLinePlot"/>.</summary>
internal sealed record PlotSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// A static inline SVG line plot: frame, axes with "nice" ticks (1, 2, 5 × 10^k), axis labels, title, legend, and one
/// <c>&lt;polyline&gt;</c> per series (plus a marker per point, so a single point still shows). No script, no external
/// resource; every piece of text is HTML-escaped. Stateless.
/// </summary>
internal static class SvgLinePlot
{
    private const double Width = 580;
    private const double Height = 320;
    private const double Left = 64;
    private const double Right = 20;
    private const double Top = 54;
    private const double Bottom = 52;

    /// <param name="id">The svg element's id.</param>
    /// <param name="title">The plot's title.</param>
    /// <param name="xLabel">The x axis label (x values are round numbers: integer ticks).</param>
    /// <param name="yLabel">The y axis label.</param>
    /// <param name="series">The lines; series without points are left out.</param>
    /// <param name="emptyMessage">Shown in the frame when no series has a point.</param>
    /// <param name="yMaxAtLeast">The y axis reaches at least this value (1 for accuracy).</param>
    /// <param name="reference">A dashed horizontal line (the epsilon budget), drawn when inside the y range.</param>
    public static string Render(
        string id, string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, string emptyMessage, double yMaxAtLeast = 0,
        (double Y, string Label)? reference = null)
    {
        var lines = series.Where(s => s.Points.Count > 0).ToList();
        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg id=\"{E(id)}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{E(title)}\">"));
        svg.Append(Invariant($"<title>{E(title)}</title>"));
        svg.Append(Invariant($"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{Height}\" fill=\"#ffffff\"/>"));
        svg.Append(Invariant($"<text class=\"plot-title\" x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{E(title)}</text>"));

        double plotW = Width - Left - Right;
        double plotH = Height - Top - Bottom;
        svg.Append(Invariant($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#888888\"/>"));

        var all = lines.SelectMany(s => s.Points).ToList();
        if (all.Count == 0)
        {
            svg.Append(Invariant($"<text x=\"{Left + (plotW / 2)}\" y=\"{Top + (plotH / 2)}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#555555\">{E(emptyMessage)}</text>"));
            AxisLabels(svg, xLabel, yLabel, plotW, plotH);
            svg.Append("</svg>");
            return svg.ToString();
        }

        double xMin = all.Min(p => p.X);
        double xMax = all.Max(p => p.X);
        if (xMax - xMin < 1)
        {
            xMin -= 1;
            xMax += 1;
        }

        double xStep = Math.Max(1, Math.Ceiling(NiceStep(xMax - xMin, 10)));
        double yStep = NiceStep(Math.Max(all.Max(p => p.Y), yMaxAtLeast) is > 0 and var top ? top : 1, 6);
        double yMax = Math.Max(Math.Ceiling(Math.Max(all.Max(p => p.Y), yMaxAtLeast) / yStep) * yStep, yStep);
        double yMin = 0;

        double Px(double x) => Left + ((x - xMin) / (xMax - xMin) * plotW);
        double Py(double y) => Top + plotH - ((y - yMin) / (yMax - yMin) * plotH);

        // Grid and ticks: y, then x.
        for (double y = yMin; y <= yMax + (yStep / 1e6); y += yStep)
        {
            double py = Py(y);
            svg.Append(Invariant($"<line x1=\"{Left:0.##}\" y1=\"{py:0.##}\" x2=\"{Left + plotW:0.##}\" y2=\"{py:0.##}\" stroke=\"#e4e4e4\"/>"));
            svg.Append(Invariant($"<text class=\"tick\" x=\"{Left - 6:0.##}\" y=\"{py + 4:0.##}\" text-anchor=\"end\" font-size=\"11\">{E(FormatTick(y, yStep))}</text>"));
        }

        for (double x = Math.Ceiling(xMin / xStep) * xStep; x <= xMax + 1e-9; x += xStep)
        {
            double px = Px(x);
            svg.Append(Invariant($"<line x1=\"{px:0.##}\" y1=\"{Top + plotH:0.##}\" x2=\"{px:0.##}\" y2=\"{Top + plotH + 5:0.##}\" stroke=\"#444444\"/>"));
            svg.Append(Invariant($"<text class=\"tick\" x=\"{px:0.##}\" y=\"{Top + plotH + 18:0.##}\" text-anchor=\"middle\" font-size=\"11\">{E(FormatTick(x, xStep))}</text>"));
        }

        svg.Append(Invariant($"<line x1=\"{Left}\" y1=\"{Top + plotH}\" x2=\"{Left + plotW}\" y2=\"{Top + plotH}\" stroke=\"#444444\"/>"));
        svg.Append(Invariant($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + plotH}\" stroke=\"#444444\"/>"));
        AxisLabels(svg, xLabel, yLabel, plotW, plotH);

        if (reference is { } r && r.Y > yMin && r.Y <= yMax)
        {
            double ry = Py(r.Y);
            svg.Append(Invariant($"<line class=\"reference\" x1=\"{Left:0.##}\" y1=\"{ry:0.##}\" x2=\"{Left + plotW:0.##}\" y2=\"{ry:0.##}\" stroke=\"#777777\" stroke-dasharray=\"6 4\"/>"));
            svg.Append(Invariant($"<text x=\"{Left + 6:0.##}\" y=\"{ry - 5:0.##}\" font-size=\"11\" fill=\"#555555\">{E(r.Label)}</text>"));
        }

        for (int i = 0; i < lines.Count; i++)
        {
            var s = lines[i];
            string points = string.Join(" ", s.Points.Select(p => Invariant($"{Px(p.X):0.##},{Py(p.Y):0.##}")));
            svg.Append(Invariant($"<polyline class=\"series\" data-series=\"{E(s.Name)}\" fill=\"none\" stroke=\"{E(s.Color)}\" stroke-width=\"2.5\" points=\"{points}\"/>"));
            foreach (var (x, y) in s.Points)
            {
                svg.Append(Invariant($"<circle cx=\"{Px(x):0.##}\" cy=\"{Py(y):0.##}\" r=\"3.5\" fill=\"{E(s.Color)}\"><title>{E(s.Name)}, round {E(FormatTick(x, 1))}: {E(y.ToString("G6", CultureInfo.InvariantCulture))}</title></circle>"));
            }

            // Legend in a row between the title and the frame, where no line can run under it.
            double ly = Top - 10;
            double lx = Left + (i * 150);
            svg.Append(Invariant($"<line x1=\"{lx:0.##}\" y1=\"{ly - 4:0.##}\" x2=\"{lx + 22:0.##}\" y2=\"{ly - 4:0.##}\" stroke=\"{E(s.Color)}\" stroke-width=\"2.5\"/>"));
            svg.Append(Invariant($"<text x=\"{lx + 28:0.##}\" y=\"{ly:0.##}\" font-size=\"11\">{E(s.Name)}</text>"));
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>A step of 1, 2 or 5 × 10^k that splits <paramref name="range"/> into at most about <paramref name="ticks"/> parts.</summary>
    internal static double NiceStep(double range, int ticks)
    {
        double raw = range / ticks;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / magnitude;
        double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * magnitude;
    }

    private static void AxisLabels(StringBuilder svg, string xLabel, string yLabel, double plotW, double plotH)
    {
        svg.Append(Invariant($"<text class=\"axis-label\" x=\"{Left + (plotW / 2):0.##}\" y=\"{Height - 10:0.##}\" text-anchor=\"middle\" font-size=\"12\">{E(xLabel)}</text>"));
        double cy = Top + (plotH / 2);
        svg.Append(Invariant($"<text class=\"axis-label\" x=\"16\" y=\"{cy:0.##}\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 {cy:0.##})\">{E(yLabel)}</text>"));
    }

    private static string FormatTick(double value, double step)
    {
        int decimals = step >= 1 ? 0 : Math.Min(6, (int)Math.Ceiling(-Math.Log10(step)));
        return Math.Round(value, decimals).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
