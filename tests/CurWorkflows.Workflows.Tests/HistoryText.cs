using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CurWorkflows.Workflows.Tests;

/// <summary>Reads an exported history JSON, decoding the base64 payloads so their content can be searched.</summary>
public static partial class HistoryText
{
    /// <summary>An STS temporary access key id.</summary>
    public static Regex TemporaryAccessKey { get; } = TemporaryAccessKeyPattern();

    /// <summary>Credential field names, in any casing.</summary>
    public static Regex SecretField { get; } = SecretFieldPattern();

    public static Regex LongBase64 { get; } = LongBase64Pattern();

    public static string WithDecodedPayloads(string historyJson) =>
        historyJson + "\n" + string.Join("\n", DecodedPayloads(historyJson));

    public static IEnumerable<string> DecodedPayloads(string historyJson)
    {
        using var document = JsonDocument.Parse(historyJson);
        var decoded = new List<string>();
        Collect(document.RootElement, decoded);
        return decoded;
    }

    private static void Collect(JsonElement element, List<string> decoded)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "data" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        decoded.Add(Encoding.UTF8.GetString(Convert.FromBase64String(property.Value.GetString()!)));
                    }
                    else
                    {
                        Collect(property.Value, decoded);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, decoded);
                }

                break;
        }
    }

    [GeneratedRegex("ASIA[A-Z2-7]{16}")]
    private static partial Regex TemporaryAccessKeyPattern();

    [GeneratedRegex("(?i)secret_?access_?key|session_?token|external_?id")]
    private static partial Regex SecretFieldPattern();

    [GeneratedRegex("[A-Za-z0-9+/]{60,}={0,2}")]
    private static partial Regex LongBase64Pattern();
}
