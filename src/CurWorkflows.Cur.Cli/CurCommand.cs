using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Cli;

/// <summary>The `cur` command line: `aggregate` a CUR file, `generate` realistic ones.</summary>
public static class CurCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    private const string UsageText = """
        usage:
          cur aggregate <file.csv|.csv.gz|.csv.zip> [--tag-key KEY] [--format table|json]
          cur generate <dir | file.csv|.csv.gz|.csv.zip> [--rows N] [--files N] [--seed N] [--format zip|gz|csv]
                       [--period yyyy-MM] [--prefix P] [--report-name NAME] [--assembly-id ID] [--create-new]
                       [--tag-key KEY] [--narrow] [--lf] [--final] [--fast]
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stderr.WriteLine(UsageText);
            return args.Length == 0 ? Usage : Ok;
        }

        Arguments arguments;
        try
        {
            arguments = Arguments.Parse(args[1..]);
        }
        catch (FormatException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            stderr.WriteLine(UsageText);
            return Usage;
        }

        return args[0] switch
        {
            "aggregate" => Aggregate(arguments, stdout, stderr),
            "generate" => Generate(arguments, stdout, stderr),
            _ => UnknownCommand(args[0], stderr),
        };
    }

    private static int UnknownCommand(string command, TextWriter stderr)
    {
        stderr.WriteLine($"error: unknown command '{command}'");
        stderr.WriteLine(UsageText);
        return Usage;
    }

    private static int Aggregate(Arguments arguments, TextWriter stdout, TextWriter stderr)
    {
        if (arguments.Positional.Count != 1)
        {
            stderr.WriteLine("error: aggregate takes exactly one file");
            return Usage;
        }

        var format = arguments.Option("format") ?? "table";
        if (format is not ("table" or "json"))
        {
            stderr.WriteLine($"error: --format must be table or json, not '{format}'");
            return Usage;
        }

        var path = arguments.Positional[0];
        var json = format == "json";
        if (!File.Exists(path))
        {
            return Fail(stdout, stderr, json, "file_not_found", $"file not found: {path}");
        }

        var options = new CostAggregationOptions { TagKey = arguments.Option("tag-key") ?? CostAggregationOptions.DefaultTagKey };
        CurAggregationResult result;
        try
        {
            result = CostAggregator.AggregateFile(CurSource.FromFile(path), options);
        }
        catch (CurException e)
        {
            return Fail(stdout, stderr, json, e.Code, e.Message);
        }

        if (json)
        {
            WriteJson(result, stdout);
        }
        else
        {
            WriteTable(result, stdout);
        }

        return Ok;
    }

    private static int Fail(TextWriter stdout, TextWriter stderr, bool json, string code, string message)
    {
        stderr.WriteLine(message.StartsWith(code, StringComparison.Ordinal) ? $"error: {message}" : $"error: {code}: {message}");
        if (json)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                writer.WriteStartObject("error");
                writer.WriteString("code", code);
                writer.WriteString("message", message);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            stdout.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        }

        return Failed;
    }

    private static string Amount(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Daily totals per package (and currency), summed over products.</summary>
    private static List<(DateOnly Date, string Package, string Currency, CostAmounts Cost)> DailyByPackage(CurAggregationResult result) =>
        result.Daily
            .GroupBy(d => (d.UsageDate, d.Package, d.Currency))
            .Select(g => (g.Key.UsageDate, g.Key.Package, g.Key.Currency, g.Aggregate(CostAmounts.Zero, (sum, d) => sum + d.Cost)))
            .OrderBy(d => d.UsageDate).ThenBy(d => d.Package, StringComparer.Ordinal).ThenBy(d => d.Currency, StringComparer.Ordinal)
            .ToList();

    private static void WriteJson(CurAggregationResult result, TextWriter stdout)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("rows", result.Rows);
            json.WriteStartObject("totals");
            json.WriteString("unblended", Amount(result.Totals.Unblended));
            json.WriteString("netUnblended", Amount(result.Totals.NetUnblended));
            json.WriteString("amortized", Amount(result.Totals.Amortized));
            json.WriteEndObject();
            json.WriteStartObject("rowsByLineItemType");
            foreach (var (type, count) in result.RowsByLineItemType)
            {
                json.WriteNumber(type, count);
            }

            json.WriteEndObject();
            json.WriteStartObject("untagged");
            json.WriteNumber("rows", result.UntaggedRows);
            json.WriteString("unblended", Amount(result.Untagged.Unblended));
            json.WriteString("share", Amount(Math.Round(result.UntaggedShare, 6)));
            json.WriteEndObject();
            json.WriteString("tagColumn", result.TagColumn);
            json.WriteBoolean("tagColumnPresent", result.TagColumnPresent);
            json.WriteBoolean("final", result.IsFinal);
            if (result.BillingPeriodStart is { } period)
            {
                json.WriteString("billingPeriod", period.ToString("yyyy-MM", CultureInfo.InvariantCulture));
            }

            json.WriteStartArray("currencies");
            foreach (var currency in result.Currencies)
            {
                json.WriteStringValue(currency);
            }

            json.WriteEndArray();
            json.WriteStartArray("daily");
            foreach (var (date, package, currency, cost) in DailyByPackage(result))
            {
                json.WriteStartObject();
                json.WriteString("date", date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                json.WriteString("package", package);
                json.WriteString("currency", currency);
                json.WriteString("unblended", Amount(cost.Unblended));
                json.WriteString("netUnblended", Amount(cost.NetUnblended));
                json.WriteString("amortized", Amount(cost.Amortized));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        stdout.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void WriteTable(CurAggregationResult result, TextWriter stdout)
    {
        var daily = DailyByPackage(result);
        var packageWidth = Math.Max("package".Length, daily.Count == 0 ? 0 : daily.Max(d => Display(d.Package).Length));
        stdout.WriteLine($"{"date",-10}  {"package".PadRight(packageWidth)}  {"currency",-8}  {"unblended",22}  {"amortized",22}");
        foreach (var (date, package, currency, cost) in daily)
        {
            stdout.WriteLine($"{date:yyyy-MM-dd}  {Display(package).PadRight(packageWidth)}  {currency,-8}  {Amount(cost.Unblended),22}  {Amount(cost.Amortized),22}");
        }

        stdout.WriteLine();
        stdout.WriteLine($"rows: {result.Rows}");
        stdout.WriteLine($"totals: unblended {Amount(result.Totals.Unblended)}, net unblended {Amount(result.Totals.NetUnblended)}, amortized {Amount(result.Totals.Amortized)}");
        stdout.WriteLine("rows per line item type:");
        foreach (var (type, count) in result.RowsByLineItemType)
        {
            stdout.WriteLine($"  {type,-26} {count,12}");
        }

        var tagNote = result.TagColumnPresent ? "" : $" (no {result.TagColumn} column: everything is untagged)";
        stdout.WriteLine($"untagged: {result.UntaggedRows} rows, unblended {Amount(result.Untagged.Unblended)}, {Math.Round(result.UntaggedShare * 100, 2).ToString(CultureInfo.InvariantCulture)}% of the total{tagNote}");
        var period = result.BillingPeriodStart is { } start ? start.ToString("yyyy-MM", CultureInfo.InvariantCulture) : "unknown";
        stdout.WriteLine($"billing period: {period}, {(result.IsFinal ? "final (invoiced)" : "estimated (no invoice id yet)")}");
    }

    private static string Display(string package) => package.Length == 0 ? "(untagged)" : package;

    private static int Generate(Arguments arguments, TextWriter stdout, TextWriter stderr)
    {
        if (arguments.Positional.Count != 1)
        {
            stderr.WriteLine("error: generate takes exactly one target directory or file");
            return Usage;
        }

        ReportGeneratorOptions report;
        ReportFileFormat format;
        int files;
        try
        {
            var period = arguments.Option("period") is { } p
                ? DateOnly.ParseExact(p + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture)
                : new DateOnly(2024, 11, 1);
            report = new ReportGeneratorOptions
            {
                Rows = arguments.Long("rows") ?? 10_000,
                Seed = (int)(arguments.Long("seed") ?? 1),
                BillingPeriodStart = period,
                TagKey = arguments.Option("tag-key") ?? CostAggregationOptions.DefaultTagKey,
                WideColumns = !arguments.Flag("narrow"),
                LineEnding = arguments.Flag("lf") ? "\n" : "\r\n",
                Final = arguments.Flag("final"),
            };
            format = (arguments.Option("format") ?? "zip") switch
            {
                "zip" => ReportFileFormat.Zip,
                "gz" or "gzip" => ReportFileFormat.Gzip,
                "csv" => ReportFileFormat.Csv,
                var other => throw new FormatException($"--format must be zip, gz or csv, not '{other}'"),
            };
            files = (int)(arguments.Long("files") ?? 1);
        }
        catch (FormatException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return Usage;
        }

        var level = arguments.Flag("fast") ? CompressionLevel.Fastest : CompressionLevel.Optimal;
        var target = arguments.Positional[0];
        if (target.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || target.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            || target.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(target));
            Directory.CreateDirectory(directory!);
            var truth = ReportFiles.WriteFile(target, report, level);
            stdout.WriteLine(target);
            WriteTruth(truth, stdout);
            return Ok;
        }

        var delivery = ReportDelivery.WriteToDirectory(target, new ReportDeliveryOptions
        {
            Prefix = arguments.Option("prefix") ?? "cur",
            ReportName = arguments.Option("report-name") ?? "massdriver-costs",
            AssemblyId = arguments.Option("assembly-id") ?? new ReportDeliveryOptions().AssemblyId,
            Versioning = arguments.Flag("create-new") ? ReportVersioning.CreateNewReport : ReportVersioning.OverwriteReport,
            Format = format,
            CompressionLevel = level,
            Files = files,
            Report = report,
        });
        foreach (var key in delivery.DataKeys.Concat(delivery.ManifestKeys))
        {
            stdout.WriteLine(key);
        }

        WriteTruth(delivery.Truth, stdout);
        return Ok;
    }

    private static void WriteTruth(GeneratedReportTruth truth, TextWriter stdout)
    {
        stdout.WriteLine($"rows: {truth.Rows}, columns: {truth.Columns}, uncompressed bytes: {truth.Bytes}");
        stdout.WriteLine($"expected totals: unblended {Amount(truth.Unblended)}, net unblended {Amount(truth.NetUnblended)}, amortized {Amount(truth.Amortized)}, untagged unblended {Amount(truth.UntaggedUnblended)}");
    }

    private sealed class Arguments
    {
        private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);

        public List<string> Positional { get; } = [];

        public static Arguments Parse(string[] args)
        {
            string[] flags = ["narrow", "lf", "final", "fast", "create-new"];
            var parsed = new Arguments();
            for (var i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    parsed.Positional.Add(args[i]);
                    continue;
                }

                var name = args[i][2..];
                var equals = name.IndexOf('=', StringComparison.Ordinal);
                if (equals >= 0)
                {
                    parsed._options[name[..equals]] = name[(equals + 1)..];
                }
                else if (flags.Contains(name))
                {
                    parsed._options[name] = null;
                }
                else if (i + 1 < args.Length)
                {
                    parsed._options[name] = args[++i];
                }
                else
                {
                    throw new FormatException($"--{name} needs a value");
                }
            }

            return parsed;
        }

        public string? Option(string name) => _options.GetValueOrDefault(name);

        public bool Flag(string name) => _options.ContainsKey(name);

        public long? Long(string name) =>
            Option(name) is { } value
                ? long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : throw new FormatException($"--{name} must be a whole number, not '{value}'")
                : null;
    }
}
