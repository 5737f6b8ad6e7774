using System.Globalization;

namespace CurWorkflows.Cur.Manifest;

/// <summary>One column of a legacy CUR manifest. <see cref="Type"/> is missing in older manifests.</summary>
public sealed record CurManifestColumn(string Category, string Name, string? Type = null)
{
    /// <summary>The CSV header cell, <c>category/Name</c>: names repeat across categories, so this is the key.</summary>
    public string HeaderName => $"{Category}/{Name}";
}

/// <summary>An entry of <c>additionalArtifactKeys</c> (objects such as <c>{"artifactType":"RedshiftCommands","name":"..."}</c>).</summary>
public sealed record CurAdditionalArtifact(string? ArtifactType, string? Name);

/// <summary>A billing period, [Start, End) in UTC; End is the first instant of the next month.</summary>
public sealed record CurBillingPeriod(DateTime Start, DateTime End)
{
    private const string FolderDateFormat = "yyyyMMdd";

    /// <summary>The S3 folder name, e.g. <c>20241101-20241201</c>.</summary>
    public string FolderName =>
        Start.ToString(FolderDateFormat, CultureInfo.InvariantCulture) + "-" + End.ToString(FolderDateFormat, CultureInfo.InvariantCulture);

    /// <summary>The first day of the period as a date.</summary>
    public DateOnly Month => DateOnly.FromDateTime(Start);

    /// <summary>Parses a folder name such as <c>20241101-20241201</c>; false for anything else.</summary>
    public static bool TryParseFolderName(string folderName, out CurBillingPeriod period)
    {
        period = null!;
        if (folderName.Length != 17 || folderName[8] != '-')
        {
            return false;
        }

        if (!DateTime.TryParseExact(folderName.AsSpan(0, 8), FolderDateFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var start)
            || !DateTime.TryParseExact(folderName.AsSpan(9, 8), FolderDateFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var end)
            || end <= start)
        {
            return false;
        }

        period = new CurBillingPeriod(start, end);
        return true;
    }

    public override string ToString() => FolderName;
}

/// <summary>A parsed legacy CUR <c>&lt;report-name&gt;-Manifest.json</c>.</summary>
public sealed record CurManifest
{
    /// <summary>Opaque delivery id (a GUID or a timestamp such as <c>20230903T040211Z</c>); a change means a new delivery.</summary>
    public required string AssemblyId { get; init; }

    public string? Account { get; init; }

    public IReadOnlyList<CurManifestColumn> Columns { get; init; } = [];

    public string? Charset { get; init; }

    /// <summary><c>ZIP</c>, <c>GZIP</c> or <c>Parquet</c> as written by AWS; null when absent.</summary>
    public string? Compression { get; init; }

    public string? ContentType { get; init; }

    public string? ReportId { get; init; }

    public required string ReportName { get; init; }

    public required CurBillingPeriod BillingPeriod { get; init; }

    public string? Bucket { get; init; }

    /// <summary>The data files of this delivery, as S3 keys. Take file names from here; never construct them.</summary>
    public IReadOnlyList<string> ReportKeys { get; init; } = [];

    public IReadOnlyList<CurAdditionalArtifact> AdditionalArtifacts { get; init; } = [];
}
