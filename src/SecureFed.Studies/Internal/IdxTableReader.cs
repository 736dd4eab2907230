using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;

namespace SecureFed.Studies.Internal;

/// <summary>
/// Reads an IDX image file and its labels file (the MNIST / Fashion-MNIST format, LeCun et al.; gzip or raw) into a
/// <see cref="SiloTable"/>. Images: big-endian int32 magic 2051, count, rows, cols, then count x rows x cols unsigned
/// bytes, row-major. Labels: int32 magic 2049, count, then count unsigned bytes. Pixel i of an image is study feature i
/// (raw 0..255; the study encoder standardizes), label byte b is class index b. Errors name the 1-based image (row).
/// </summary>
internal static class IdxTableReader
{
    public const int ImagesMagic = 2051;
    public const int LabelsMagic = 2049;

    private const int ImagesHeaderBytes = 16;
    private const int LabelsHeaderBytes = 8;

    // Images are decoded a block at a time straight into the table's per-feature columns: no per-cell strings, and the
    // block (64 KiB for 28x28 images) stays in cache while it is transposed.
    private const int BlockBytes = 64 * 1024;

    /// <summary>True for a file name that IDX images carry: <c>*-idx3-ubyte</c> or <c>*-idx3-ubyte.gz</c>.</summary>
    public static bool IsIdxImagesName(string path)
    {
        var name = Path.GetFileName(path);
        return name.EndsWith("-idx3-ubyte", StringComparison.OrdinalIgnoreCase) || name.EndsWith("-idx3-ubyte.gz", StringComparison.OrdinalIgnoreCase);
    }

    public static SiloTable Read(Study study, string file, string? labelsPath, bool featuresOnly = false)
    {
        var firstCategorical = study.Features.FirstOrDefault(f => f.Type != FeatureType.Numeric);
        if (firstCategorical is not null)
        {
            throw Error(file, 1, firstCategorical.Column, null, "is categorical, but an IDX file holds only pixel values; declare every study feature numeric (one per pixel) or give a CSV or Parquet file");
        }

        var labelsFile = featuresOnly ? null : labelsPath ?? FindLabels(file);
        using var images = Open(file);
        var header = ReadHeader(images, file, ImagesHeaderBytes, ImagesMagic, LabelsMagic, "images", "-images-idx3-ubyte.gz");
        var count = header[1];
        var rows = header[2];
        var cols = header[3];
        if (count <= 0)
        {
            throw Error(file, 1, null, null, string.Create(CultureInfo.InvariantCulture, $"the header declares {count} images; the file must hold at least one (is it the right file?)"));
        }

        if (rows <= 0 || cols <= 0)
        {
            throw Error(file, 1, null, null, string.Create(CultureInfo.InvariantCulture, $"the header declares {rows}x{cols} images; rows and columns must be positive (the file is damaged)"));
        }

        var pixels = (long)rows * cols;
        if (pixels != study.Features.Count)
        {
            throw Error(file, 1, null, null, string.Create(CultureInfo.InvariantCulture,
                $"holds {rows}x{cols} = {pixels} pixels per image but study {study.Name} has {study.Features.Count} numeric features; declare one numeric feature per pixel, row-major (for example \"column_prefix\": \"pixel\", \"count\": {pixels})"));
        }

        // A cnn reads each row as an image of its declared shape; pixels of another shape would be scrambled, not refused.
        if (study.Model.InputShape is [var channels, var height, var width] && (channels != 1 || height != rows || width != cols))
        {
            throw Error(file, 1, null, null, string.Create(CultureInfo.InvariantCulture,
                $"holds 1x{rows}x{cols} images but the study's model.input_shape is [{channels}, {height}, {width}]; set input_shape to [1, {rows}, {cols}]"));
        }

        var labels = labelsFile is null ? null : ReadLabels(study, labelsFile, file, count);
        var features = (int)pixels;
        var numeric = new double[]?[features];
        for (var p = 0; p < features; p++)
        {
            numeric[p] = new double[count];
        }

        ReadPixels(images, file, numeric, count, features);
        return labels is null
            ? new SiloTable(study, file, numeric, new int[]?[features], count)
            : new SiloTable(study, file, numeric, new int[]?[features], labels);
    }

    /// <summary>The labels file beside <paramref name="imagesFile"/>: <c>images-idx3</c> becomes <c>labels-idx1</c> (gzip or raw).</summary>
    private static string FindLabels(string imagesFile)
    {
        var name = Path.GetFileName(imagesFile);
        var at = name.LastIndexOf("images-idx3", StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            throw Error(imagesFile, 1, null, null, "has no labels file by name (its name does not contain \"images-idx3\"); give the labels file explicitly (DataReadOptions.LabelsPath) or name the pair *-images-idx3-ubyte[.gz] and *-labels-idx1-ubyte[.gz]");
        }

        var labelsName = string.Concat(name.AsSpan(0, at), "labels-idx1", name.AsSpan(at + "images-idx3".Length));
        var candidate = Path.Combine(Path.GetDirectoryName(imagesFile) ?? string.Empty, labelsName);
        if (File.Exists(candidate))
        {
            return candidate;
        }

        // The pair may be compressed differently (images gzipped, labels raw, or the other way round).
        var twin = candidate.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? candidate[..^3] : candidate + ".gz";
        if (File.Exists(twin))
        {
            return twin;
        }

        throw Error(imagesFile, 1, null, null, $"has no labels file: {candidate} does not exist; put the labels file (magic 2049) beside the images under that name, or give its path (DataReadOptions.LabelsPath)");
    }

    private static int[] ReadLabels(Study study, string labelsFile, string imagesFile, int imageCount)
    {
        if (!File.Exists(labelsFile))
        {
            throw Error(labelsFile, 1, null, null, $"the labels file of {imagesFile} does not exist; give the path of its *-labels-idx1-ubyte[.gz] file");
        }

        using var stream = Open(labelsFile);
        var header = ReadHeader(stream, labelsFile, LabelsHeaderBytes, LabelsMagic, ImagesMagic, "labels", "-labels-idx1-ubyte.gz");
        if (header[1] != imageCount)
        {
            throw Error(labelsFile, 1, null, null, string.Create(CultureInfo.InvariantCulture,
                $"count mismatch: the labels file declares {header[1]} labels but {imagesFile} declares {imageCount} images; give the labels file of the same split"));
        }

        var bytes = new byte[imageCount];
        var read = ReadFully(stream, labelsFile, bytes, 2);
        if (read < bytes.Length)
        {
            throw Error(labelsFile, read + 1, null, null, string.Create(CultureInfo.InvariantCulture,
                $"is truncated: the header declares {imageCount} labels but the data ends after {read}; copy the file again (it is incomplete)"));
        }

        RequireEnd(stream, labelsFile, imageCount, "labels");
        var classes = study.ClassCount;
        var labels = new int[imageCount];
        for (var i = 0; i < bytes.Length; i++)
        {
            var label = bytes[i];
            if (label >= classes)
            {
                throw Error(labelsFile, i + 1, study.Label.Column, label.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture,
                    $"label byte {label} is not a class index of study {study.Name}, which declares {classes} classes (0..{classes - 1}); list one class name per label index in label.classes, in index order"));
            }

            labels[i] = label;
        }

        return labels;
    }

    private static void ReadPixels(Stream stream, string file, double[]?[] numeric, int count, int pixels)
    {
        var blockImages = Math.Max(1, BlockBytes / pixels);
        var block = new byte[blockImages * pixels];
        for (var first = 0; first < count; first += blockImages)
        {
            var images = Math.Min(blockImages, count - first);
            var wanted = images * pixels;
            var read = ReadFully(stream, file, block.AsSpan(0, wanted), first + 1);
            if (read < wanted)
            {
                var complete = first + (read / pixels);
                throw Error(file, complete + 1, null, null, string.Create(CultureInfo.InvariantCulture,
                    $"is truncated: the header declares {count} images of {pixels} bytes but the data ends after {complete} whole images; copy the file again (it is incomplete)"));
            }

            // Transpose the block's row-major images into the per-feature columns.
            for (var p = 0; p < pixels; p++)
            {
                var column = numeric[p]!.AsSpan(first, images);
                var offset = p;
                for (var i = 0; i < column.Length; i++)
                {
                    column[i] = block[offset];
                    offset += pixels;
                }
            }
        }

        RequireEnd(stream, file, count, "images");
    }

    /// <summary>The header's int32 fields; refuses a short header, a wrong magic number or the other file of the pair.</summary>
    private static int[] ReadHeader(Stream stream, string file, int length, int magic, int otherMagic, string kind, string example)
    {
        Span<byte> bytes = stackalloc byte[ImagesHeaderBytes];
        var header = bytes[..length];
        var read = ReadFully(stream, file, header, 1);

        // The magic number first: a labels file given as the images file is short too, but "wrong file" is the news.
        var found = read >= 4 ? BinaryPrimitives.ReadInt32BigEndian(header) : magic;
        if (found != magic)
        {
            var problem = found == otherMagic
                ? string.Create(CultureInfo.InvariantCulture, $"wrong magic number {otherMagic}: this is the IDX {(kind == "images" ? "labels" : "images")} file, not the {kind} file; give the {kind} file (*{example})")
                : string.Create(CultureInfo.InvariantCulture, $"wrong magic number {found} (0x{found:x8}): an IDX {kind} file starts with {magic}; give an IDX {kind} file (*{example}), gzip or raw");
            throw Error(file, 1, null, null, problem);
        }

        if (read < length)
        {
            throw Error(file, 1, null, null, string.Create(CultureInfo.InvariantCulture,
                $"is truncated: an IDX {kind} header needs {length} bytes but the file has {read}; copy the file again (it is incomplete or empty)"));
        }

        var fields = new int[length / 4];
        for (var i = 0; i < fields.Length; i++)
        {
            fields[i] = BinaryPrimitives.ReadInt32BigEndian(header[(i * 4)..]);
        }

        return fields;
    }

    /// <summary>Refuses bytes after the declared data: a wrong count field, or files glued together.</summary>
    private static void RequireEnd(Stream stream, string file, int count, string kind)
    {
        Span<byte> one = stackalloc byte[1];
        if (ReadFully(stream, file, one, count) > 0)
        {
            throw Error(file, count, null, null, string.Create(CultureInfo.InvariantCulture,
                $"has data after the {count} {kind} its header declares; the count field is wrong or the file is damaged; copy the file again"));
        }
    }

    /// <summary>Opens the file, decompressing it when it starts with the gzip magic bytes (whatever its name).</summary>
    private static Stream Open(string file)
    {
        var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        var gzip = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        stream.Position = 0;
        return gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: false) : stream;
    }

    private static int ReadFully(Stream stream, string file, Span<byte> buffer, int row)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException ex)
        {
            throw Error(file, row, null, null, $"is not valid gzip data ({ex.Message}); copy the file again, or give it uncompressed");
        }
    }

    private static DataFormatException Error(string file, int row, string? column, string? value, string problem) =>
        new(file, row, column, value, problem, isRowNumber: true);
}
