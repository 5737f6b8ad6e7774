using System.Globalization;
using System.Text.Json;

namespace CurWorkflows.Cur.Manifest;

/// <summary>Reads legacy CUR manifests. Anything unreadable is a <see cref="CurErrorCodes.ReportMalformed"/> naming the file.</summary>
public static class CurManifestParser
{
    private const string BillingPeriodFormat = "yyyyMMdd'T'HHmmss.fff'Z'";

    // Manifests are small (275 columns is ~20 KB); anything far bigger is not a manifest.
    private const int MaxManifestBytes = 16 * 1024 * 1024;

    public static CurManifest Parse(ReadOnlySpan<byte> utf8Json, string fileName)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            using var document = JsonDocument.ParseValue(ref reader);
            return FromDocument(document.RootElement, fileName);
        }
        catch (JsonException ex)
        {
            throw Malformed(fileName, $"invalid JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}: {ex.Message}", ex);
        }
    }

    public static CurManifest Parse(string json, string fileName) =>
        Parse(System.Text.Encoding.UTF8.GetBytes(json), fileName);

    public static async Task<CurManifest> ParseAsync(Stream utf8Json, string fileName, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await utf8Json.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxManifestBytes)
            {
                throw Malformed(fileName, $"larger than {MaxManifestBytes} bytes, not a CUR manifest");
            }

            buffer.Write(chunk, 0, read);
        }

        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), fileName);
    }

    private static CurManifest FromDocument(JsonElement root, string fileName)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Malformed(fileName, $"expected a JSON object at the top level, found {root.ValueKind}");
        }

        var billingPeriod = RequiredProperty(root, "billingPeriod", JsonValueKind.Object, fileName);
        var start = ParseBillingDate(RequiredString(billingPeriod, "start", fileName, "billingPeriod.start"), fileName, "billingPeriod.start");
        var end = ParseBillingDate(RequiredString(billingPeriod, "end", fileName, "billingPeriod.end"), fileName, "billingPeriod.end");
        if (end <= start)
        {
            throw Malformed(fileName, $"billingPeriod.end {end:O} is not after billingPeriod.start {start:O}");
        }

        return new CurManifest
        {
            AssemblyId = RequiredString(root, "assemblyId", fileName, "assemblyId"),
            Account = OptionalString(root, "account", fileName),
            Columns = ParseColumns(root, fileName),
            Charset = OptionalString(root, "charset", fileName),
            Compression = OptionalString(root, "compression", fileName),
            ContentType = OptionalString(root, "contentType", fileName),
            ReportId = OptionalString(root, "reportId", fileName),
            ReportName = RequiredString(root, "reportName", fileName, "reportName"),
            BillingPeriod = new CurBillingPeriod(start, end),
            Bucket = OptionalString(root, "bucket", fileName),
            ReportKeys = ParseReportKeys(root, fileName),
            AdditionalArtifacts = ParseArtifacts(root, fileName),
        };
    }

    private static List<CurManifestColumn> ParseColumns(JsonElement root, string fileName)
    {
        var columns = new List<CurManifestColumn>();
        if (!root.TryGetProperty("columns", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return columns;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Malformed(fileName, $"columns must be an array, found {array.ValueKind}");
        }

        var index = 0;
        foreach (var column in array.EnumerateArray())
        {
            var path = $"columns[{index}]";
            if (column.ValueKind != JsonValueKind.Object)
            {
                throw Malformed(fileName, $"{path} must be an object, found {column.ValueKind}");
            }

            columns.Add(new CurManifestColumn(
                RequiredString(column, "category", fileName, path + ".category"),
                RequiredString(column, "name", fileName, path + ".name"),
                OptionalString(column, "type", fileName)));
            index++;
        }

        return columns;
    }

    private static List<string> ParseReportKeys(JsonElement root, string fileName)
    {
        var keys = new List<string>();
        if (!root.TryGetProperty("reportKeys", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return keys;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Malformed(fileName, $"reportKeys must be an array, found {array.ValueKind}");
        }

        var index = 0;
        foreach (var key in array.EnumerateArray())
        {
            if (key.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(key.GetString()))
            {
                throw Malformed(fileName, $"reportKeys[{index}] must be a non-empty string, found {key.ValueKind}");
            }

            // A key listed twice would be collected twice: its rows would count double.
            var value = key.GetString()!;
            if (keys.IndexOf(value) is var first and >= 0)
            {
                throw Malformed(fileName, $"reportKeys[{index}] repeats reportKeys[{first}] ('{value}')");
            }

            keys.Add(value);
            index++;
        }

        return keys;
    }

    private static List<CurAdditionalArtifact> ParseArtifacts(JsonElement root, string fileName)
    {
        var artifacts = new List<CurAdditionalArtifact>();
        if (!root.TryGetProperty("additionalArtifactKeys", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return artifacts;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Malformed(fileName, $"additionalArtifactKeys must be an array, found {array.ValueKind}");
        }

        foreach (var artifact in array.EnumerateArray())
        {
            // Objects in every manifest we have seen; tolerate a bare string as a name rather than fail a report over it.
            artifacts.Add(artifact.ValueKind switch
            {
                JsonValueKind.Object => new CurAdditionalArtifact(
                    OptionalString(artifact, "artifactType", fileName), OptionalString(artifact, "name", fileName)),
                JsonValueKind.String => new CurAdditionalArtifact(null, artifact.GetString()),
                _ => throw Malformed(fileName, $"additionalArtifactKeys entries must be objects, found {artifact.ValueKind}"),
            });
        }

        return artifacts;
    }

    private static DateTime ParseBillingDate(string value, string fileName, string path)
    {
        if (DateTime.TryParseExact(value, BillingPeriodFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed))
        {
            return parsed;
        }

        throw Malformed(fileName, $"{path} '{value}' is not a date in the format yyyyMMddTHHmmss.fffZ");
    }

    private static JsonElement RequiredProperty(JsonElement parent, string name, JsonValueKind kind, string fileName)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind != kind)
        {
            throw Malformed(fileName, $"missing or invalid '{name}' (expected {kind})");
        }

        return value;
    }

    private static string RequiredString(JsonElement parent, string name, string fileName, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String
            || string.IsNullOrEmpty(value.GetString()))
        {
            throw Malformed(fileName, $"missing or empty string '{path}'");
        }

        return value.GetString()!;
    }

    private static string? OptionalString(JsonElement parent, string name, string fileName)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => throw Malformed(fileName, $"'{name}' must be a string, found {value.ValueKind}"),
        };
    }

    private static CurException Malformed(string fileName, string detail, Exception? inner = null) =>
        new(CurErrorCodes.ReportMalformed, $"{fileName}: malformed CUR manifest: {detail}", inner);
}
