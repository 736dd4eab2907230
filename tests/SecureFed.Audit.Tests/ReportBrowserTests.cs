using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using SecureFed.Audit.Reports;

namespace SecureFed.Audit.Tests;

/// <summary>
/// report.html as a browser shows it: headless Chromium renders the page, and the test checks the DOM Chromium built and
/// the pixels of its screenshot, not the HTML text the writer produced.
/// </summary>
public sealed partial class ReportBrowserTests : IDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private const int WindowWidth = 1280;
    private const int WindowHeight = 2000;
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromSeconds(60);

    // The series colours ReportWriter draws with: epsilon (rdp), epsilon (exact), accuracy.
    private static readonly (string Name, byte R, byte G, byte B)[] SeriesColors =
    [
        ("epsilon (rdp)", 0x1f, 0x77, 0xb4),
        ("epsilon (exact)", 0xd6, 0x27, 0x28),
        ("accuracy", 0x2c, 0xa0, 0x2c),
    ];

    private readonly TestConsortium _consortium = TestConsortium.Create();

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public async Task ReportHtml_RenderedInHeadlessChromium_ShowsBothPlotsWithEveryRound()
    {
        Assert.True(
            File.Exists(Chromium),
            $"{Chromium} is missing: this test renders report.html in headless Chromium. Install it with `apt-get install -y chromium` (Debian).");
        var entries = _consortium.WriteGoodLedger(_consortium.PathOf("ledger.jsonl"));
        var report = AuditReport.Build(entries, new ReportContext { AccuracyByRound = ReportTests.Accuracy() });
        var files = ReportWriter.Write(report, _consortium.PathOf("report"));
        string url = new Uri(files.HtmlPath).AbsoluteUri;
        string png = _consortium.PathOf("report.png");

        string dom = await RunChromiumAsync("--dump-dom", url);
        await RunChromiumAsync($"--screenshot={png}", $"--window-size={WindowWidth},{WindowHeight}", url);

        // The DOM Chromium parsed: both plots, one polyline per series, one point per round.
        Assert.Equal([5, 5], PolylinePointCounts(dom, "epsilon-plot"));
        Assert.Equal([5], PolylinePointCounts(dom, "accuracy-plot"));
        Assert.Contains("id=\"federation-id\">fed-1<", dom, StringComparison.Ordinal);

        // The pixels: a PNG of the window's size in which each series' colour covers a stretch as wide as a plot.
        var image = Png.Decode(File.ReadAllBytes(png));
        Assert.Equal((WindowWidth, WindowHeight), (image.Width, image.Height));
        Assert.True(image.CountNonWhite() > 20_000, $"only {image.CountNonWhite()} non-white pixels: the page looks blank");
        foreach (var (name, r, g, b) in SeriesColors)
        {
            var (count, minX, maxX) = image.Find(r, g, b);
            Assert.True(count > 300, $"the {name} line covers only {count} pixels of its colour");
            Assert.True(maxX - minX > 400, $"the {name} line spans only {maxX - minX} px across (rounds 1 to 5 should span the plot)");
        }
    }

    private static List<int> PolylinePointCounts(string dom, string svgId)
    {
        var svg = Regex.Match(dom, $"<svg[^>]*\\bid=\"{svgId}\"[^>]*>(.*?)</svg>", RegexOptions.Singleline);
        Assert.True(svg.Success, $"the rendered page has no <svg id=\"{svgId}\">");
        return [.. PolylinePoints().Matches(svg.Groups[1].Value)
            .Select(m => m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length)];
    }

    [GeneratedRegex("<polyline[^>]*\\bpoints=\"([^\"]*)\"")]
    private static partial Regex PolylinePoints();

    private async Task<string> RunChromiumAsync(params string[] args)
    {
        // A fresh profile per run, and everything that would phone home turned off; /dev/shm is small in containers.
        string profile = Directory.CreateTempSubdirectory("securefed-chromium-").FullName;
        var start = new ProcessStartInfo(Chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(BrowserTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"chromium {string.Join(' ', args)} did not finish within {BrowserTimeout.TotalSeconds} s");
            }

            string output = await stdout.WaitAsync(BrowserTimeout);
            string error = await stderr.WaitAsync(BrowserTimeout);
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {error}");
            return output;
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // best effort: a temp folder chromium may still be closing
            }
        }
    }

    /// <summary>A decoded 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes), as RGB triples.</summary>
    private sealed class Png
    {
        private readonly byte[] _rgb;

        private Png(int width, int height, byte[] rgb)
        {
            Width = width;
            Height = height;
            _rgb = rgb;
        }

        public int Width { get; }

        public int Height { get; }

        public int CountNonWhite()
        {
            int count = 0;
            for (int i = 0; i < _rgb.Length; i += 3)
            {
                count += _rgb[i] < 250 || _rgb[i + 1] < 250 || _rgb[i + 2] < 250 ? 1 : 0;
            }

            return count;
        }

        /// <summary>Pixels within a small distance of a colour (anti-aliasing aside), and their horizontal extent.</summary>
        public (int Count, int MinX, int MaxX) Find(byte r, byte g, byte b)
        {
            int count = 0;
            int minX = int.MaxValue;
            int maxX = -1;
            for (int y = 0; y < Height; y++)
            {
                for (int x = 0; x < Width; x++)
                {
                    int i = ((y * Width) + x) * 3;
                    if (Math.Abs(_rgb[i] - r) <= 6 && Math.Abs(_rgb[i + 1] - g) <= 6 && Math.Abs(_rgb[i + 2] - b) <= 6)
                    {
                        count++;
                        minX = Math.Min(minX, x);
                        maxX = Math.Max(maxX, x);
                    }
                }
            }

            return (count, minX, maxX);
        }

        // PNG (RFC 2083 / ISO 15948): signature, chunks; IDAT concatenated is one zlib stream of filtered scanlines.
        public static Png Decode(byte[] file)
        {
            byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a];
            Assert.True(file.AsSpan(0, 8).SequenceEqual(signature), "the screenshot is not a PNG");
            int width = 0, height = 0, channels = 0;
            using var idat = new MemoryStream();
            for (int at = 8; at < file.Length;)
            {
                int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
                string type = Encoding.ASCII.GetString(file, at + 4, 4);
                var data = file.AsSpan(at + 8, length);
                if (type == "IHDR")
                {
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    Assert.True(data[8] == 8 && data[12] == 0, $"bit depth {data[8]}, interlace {data[12]}: expected 8-bit, not interlaced");
                    channels = data[9] switch
                    {
                        2 => 3,
                        6 => 4,
                        _ => throw new InvalidDataException($"PNG colour type {data[9]} is not RGB or RGBA"),
                    };
                }
                else if (type == "IDAT")
                {
                    idat.Write(data);
                }
                else if (type == "IEND")
                {
                    break;
                }

                at += 12 + length;
            }

            idat.Position = 0;
            using var inflated = new MemoryStream();
            using (var zlib = new ZLibStream(idat, CompressionMode.Decompress))
            {
                zlib.CopyTo(inflated);
            }

            byte[] raw = inflated.ToArray();
            int stride = width * channels;
            Assert.Equal(height * (stride + 1), raw.Length);
            var rgb = new byte[width * height * 3];
            var previous = new byte[stride];
            var line = new byte[stride];
            for (int y = 0; y < height; y++)
            {
                int filter = raw[y * (stride + 1)];
                var src = raw.AsSpan((y * (stride + 1)) + 1, stride);
                for (int i = 0; i < stride; i++)
                {
                    int a = i >= channels ? line[i - channels] : 0;
                    int b = previous[i];
                    int c = i >= channels ? previous[i - channels] : 0;
                    int predictor = filter switch
                    {
                        0 => 0,
                        1 => a,
                        2 => b,
                        3 => (a + b) / 2,
                        4 => Paeth(a, b, c),
                        _ => throw new InvalidDataException($"PNG filter type {filter} on row {y}"),
                    };
                    line[i] = unchecked((byte)(src[i] + predictor));
                }

                for (int x = 0; x < width; x++)
                {
                    line.AsSpan(x * channels, 3).CopyTo(rgb.AsSpan(((y * width) + x) * 3));
                }

                (previous, line) = (line, previous);
            }

            return new Png(width, height, rgb);
        }

        private static int Paeth(int a, int b, int c)
        {
            int p = a + b - c;
            int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
            return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
    }
}
