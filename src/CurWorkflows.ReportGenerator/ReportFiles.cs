using System.IO.Compression;

namespace CurWorkflows.ReportGenerator;

public enum ReportFileFormat
{
    Csv,
    Gzip,
    Zip,
}

/// <summary>Writes generated reports as `.csv`, `.csv.gz` or `.csv.zip` (one entry), streaming.</summary>
public static class ReportFiles
{
    public static string Extension(ReportFileFormat format) => format switch
    {
        ReportFileFormat.Gzip => ".csv.gz",
        ReportFileFormat.Zip => ".csv.zip",
        _ => ".csv",
    };

    public static ReportFileFormat FormatOf(string path) =>
        path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) ? ReportFileFormat.Zip
        : path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? ReportFileFormat.Gzip
        : ReportFileFormat.Csv;

    /// <summary>Writes a report file; the format comes from the extension of <paramref name="path"/>.</summary>
    public static GeneratedReportTruth WriteFile(string path, ReportGeneratorOptions options, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var entryName = Path.GetFileName(path);
        entryName = entryName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) ? entryName[..^4] : entryName;
        return Write(file, FormatOf(path), entryName, options, level);
    }

    /// <summary>Writes a report in <paramref name="format"/> to <paramref name="output"/> (left open).</summary>
    public static GeneratedReportTruth Write(Stream output, ReportFileFormat format, string zipEntryName, ReportGeneratorOptions options, CompressionLevel level = CompressionLevel.Optimal)
    {
        switch (format)
        {
            case ReportFileFormat.Gzip:
                {
                    using var gzip = new GZipStream(output, level, leaveOpen: true);
                    return CurReportGenerator.Write(gzip, options);
                }

            case ReportFileFormat.Zip:
                {
                    using var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
                    using var entry = archive.CreateEntry(zipEntryName, level).Open();
                    return CurReportGenerator.Write(entry, options);
                }

            default:
                return CurReportGenerator.Write(output, options);
        }
    }
}
