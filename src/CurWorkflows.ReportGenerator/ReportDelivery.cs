using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

namespace CurWorkflows.ReportGenerator;

public enum ReportVersioning
{
    /// <summary>`OVERWRITE_REPORT`: data files and manifest in the billing-period folder.</summary>
    OverwriteReport,

    /// <summary>`CREATE_NEW_REPORT`: data files in an assembly folder; manifests in the period and assembly folders.</summary>
    CreateNewReport,
}

/// <summary>One delivery of a legacy CUR for a billing period, as AWS lays it out in S3.</summary>
public sealed record ReportDeliveryOptions
{
    /// <summary>The report's S3 prefix; empty gives keys that start with `/`, as AWS writes them.</summary>
    public string Prefix { get; init; } = "cur";

    public string ReportName { get; init; } = "massdriver-costs";

    public string Bucket { get; init; } = "massdriver-costs-a1b2c3d4";

    public string AssemblyId { get; init; } = "aa1ddccb-abcd-1234-b849-57a32b6864a9";

    public ReportVersioning Versioning { get; init; } = ReportVersioning.OverwriteReport;

    public ReportFileFormat Format { get; init; } = ReportFileFormat.Zip;

    public CompressionLevel CompressionLevel { get; init; } = CompressionLevel.Optimal;

    /// <summary>Data files; rows are split evenly between them, each with the full header.</summary>
    public int Files { get; init; } = 1;

    /// <summary>Options of the whole period's rows (<see cref="ReportGeneratorOptions.BillingPeriodStart"/> sets the period).</summary>
    public ReportGeneratorOptions Report { get; init; } = new();
}

/// <summary>The objects written and the exact figures of all their rows together.</summary>
public sealed record GeneratedDelivery(
    string ManifestKey, IReadOnlyList<string> ManifestKeys, IReadOnlyList<string> DataKeys, GeneratedReportTruth Truth, IReadOnlyList<GeneratedReportTruth> FileTruths);

public static class ReportDelivery
{
    /// <summary>`yyyyMMdd-yyyyMMdd`, the end being the first day of the next month.</summary>
    public static string PeriodFolder(DateOnly periodStart) =>
        $"{periodStart:yyyyMMdd}-{periodStart.AddMonths(1):yyyyMMdd}";

    /// <summary>Writes the delivery under <paramref name="directory"/>, one file per S3 key (a leading `/` dropped).</summary>
    public static GeneratedDelivery WriteToDirectory(string directory, ReportDeliveryOptions options) =>
        Write(options, key =>
        {
            var path = Path.Combine(directory, key.TrimStart('/').Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        });

    /// <summary>
    /// Writes every object of the delivery through <paramref name="openObject"/> (S3 key -> writable stream, disposed
    /// here after writing): the data files first, then the manifest(s), as AWS does.
    /// </summary>
    public static GeneratedDelivery Write(ReportDeliveryOptions options, Func<string, Stream> openObject)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Files, 1);
        var report = options.Report;
        var periodFolder = $"{options.Prefix}/{options.ReportName}/{PeriodFolder(report.BillingPeriodStart)}";
        var dataFolder = options.Versioning == ReportVersioning.CreateNewReport ? $"{periodFolder}/{options.AssemblyId}" : periodFolder;
        var dataKeys = new List<string>();
        var truths = new List<GeneratedReportTruth>();
        for (var file = 0; file < options.Files; file++)
        {
            var rows = (report.Rows / options.Files) + (file < report.Rows % options.Files ? 1 : 0);
            var name = $"{options.ReportName}-{file + 1}{ReportFiles.Extension(options.Format)}";
            var key = $"{dataFolder}/{name}";
            using (var stream = openObject(key))
            {
                var fileOptions = report with { Rows = rows, Seed = unchecked((report.Seed * 31) + file) };
                truths.Add(ReportFiles.Write(stream, options.Format, name.EndsWith(".zip", StringComparison.Ordinal) ? name[..^4] : name, fileOptions, options.CompressionLevel));
            }

            dataKeys.Add(key);
        }

        var manifest = Manifest(options, dataKeys);
        var manifestKeys = new List<string> { $"{periodFolder}/{options.ReportName}-Manifest.json" };
        if (options.Versioning == ReportVersioning.CreateNewReport)
        {
            manifestKeys.Add($"{dataFolder}/{options.ReportName}-Manifest.json");
        }

        foreach (var key in manifestKeys)
        {
            using var stream = openObject(key);
            stream.Write(manifest);
        }

        return new GeneratedDelivery(manifestKeys[0], manifestKeys, dataKeys, GeneratedReportTruth.Combine(truths), truths);
    }

    /// <summary>The legacy `<report>-Manifest.json` of a delivery (UTF-8 JSON).</summary>
    public static byte[] Manifest(ReportDeliveryOptions options, IReadOnlyList<string> dataKeys)
    {
        var report = options.Report;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("assemblyId", options.AssemblyId);
            json.WriteString("account", "210987654321");
            json.WriteStartArray("columns");
            foreach (var column in CurReportGenerator.ColumnsOf(report))
            {
                var slash = column.IndexOf('/', StringComparison.Ordinal);
                json.WriteStartObject();
                json.WriteString("category", column[..slash]);
                json.WriteString("name", column[(slash + 1)..]);
                json.WriteString("type", TypeOf(column));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("charset", "UTF-8");
            json.WriteString("compression", options.Format switch { ReportFileFormat.Zip => "ZIP", ReportFileFormat.Gzip => "GZIP", _ => "NONE" });
            json.WriteString("contentType", "text/csv");
            json.WriteString("reportId", "a5e3" + Convert.ToHexStringLower(BitConverter.GetBytes(options.ReportName.Length * 7919L)));
            json.WriteString("reportName", options.ReportName);
            json.WriteStartObject("billingPeriod");
            json.WriteString("start", report.BillingPeriodStart.ToString("yyyyMMdd'T'000000.000'Z'", CultureInfo.InvariantCulture));
            json.WriteString("end", report.BillingPeriodStart.AddMonths(1).ToString("yyyyMMdd'T'000000.000'Z'", CultureInfo.InvariantCulture));
            json.WriteEndObject();
            json.WriteString("bucket", options.Bucket);
            json.WriteStartArray("reportKeys");
            foreach (var key in dataKeys)
            {
                // AWS lists report keys without the leading slash of an empty prefix.
                json.WriteStringValue(key.TrimStart('/'));
            }

            json.WriteEndArray();
            json.WriteStartArray("additionalArtifactKeys");
            json.WriteStartObject();
            json.WriteString("artifactType", "RedshiftCommands");
            json.WriteString("name", $"{options.Prefix}/{options.ReportName}/{PeriodFolder(report.BillingPeriodStart)}/{options.AssemblyId}/{options.ReportName}-RedshiftCommands.sql".TrimStart('/'));
            json.WriteEndObject();
            json.WriteStartObject();
            json.WriteString("artifactType", "RedshiftManifest");
            json.WriteString("name", $"{options.Prefix}/{options.ReportName}/{PeriodFolder(report.BillingPeriodStart)}/{options.AssemblyId}/{options.ReportName}-RedshiftManifest.json".TrimStart('/'));
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string TypeOf(string column)
    {
        if (column.StartsWith("resourceTags/", StringComparison.Ordinal) || column.EndsWith("Id", StringComparison.Ordinal) || column.EndsWith("ARN", StringComparison.Ordinal))
        {
            return "String";
        }

        if (column.EndsWith("Date", StringComparison.Ordinal) || column.EndsWith("Time", StringComparison.Ordinal))
        {
            return "DateTime";
        }

        return column.EndsWith("Cost", StringComparison.Ordinal) || column.EndsWith("Rate", StringComparison.Ordinal) || column.EndsWith("Amount", StringComparison.Ordinal)
            || column.EndsWith("Fee", StringComparison.Ordinal) || column.EndsWith("Commitment", StringComparison.Ordinal)
            ? "BigDecimal"
            : "String";
    }
}
