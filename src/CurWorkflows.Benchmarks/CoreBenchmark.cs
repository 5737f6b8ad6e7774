using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Benchmarks;

/// <summary>
/// Full aggregation throughput of the CUR core on a generated ~1 GB report (.csv.zip and .csv), next to the time
/// .NET takes only to inflate the same zip, and the process's peak working set.
/// </summary>
public sealed class CoreBenchmark : IBenchmark
{
    public string Name => "core";

    public string Description => "CUR core: MB/s of full aggregation from .csv.zip and .csv vs inflate-only, peak working set [--rows N] [--runs N] [--cache DIR]";

    public Task<int> RunAsync(string[] args)
    {
        var rows = long.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        var runs = int.Parse(Option(args, "--runs") ?? "2", CultureInfo.InvariantCulture);
        var cache = Option(args, "--cache") ?? Path.Combine(Path.GetTempPath(), "curworkflows-bench");
        Directory.CreateDirectory(cache);
        var csv = Path.Combine(cache, $"core-{rows}.csv");
        var zip = csv + ".zip";
        var truthPath = csv + ".truth.json";
        var truth = EnsureData(csv, zip, truthPath, rows);

        Console.WriteLine($"report: {rows:N0} rows, {truth.Columns} columns, {truth.Bytes / 1e6:N1} MB uncompressed, zip {new FileInfo(zip).Length / 1e6:N1} MB ({cache})");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average before: {LoadAverage()}");
        var inflate = new List<double>();
        var fromZip = new List<double>();
        var fromCsv = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            inflate.Add(Measure("inflate only (.NET ZipArchive)", truth.Bytes, () => InflateOnly(zip)));
            fromZip.Add(Measure("aggregate .csv.zip", truth.Bytes, () => Check(CostAggregator.AggregateFile(CurSource.FromFile(zip)), truth)));
            fromCsv.Add(Measure("aggregate .csv", truth.Bytes, () => Check(CostAggregator.AggregateFile(CurSource.FromFile(csv)), truth)));
        }

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var peak = process.PeakWorkingSet64 / (1024.0 * 1024.0);
        Console.WriteLine();
        Console.WriteLine($"inflate only        best {inflate.Max(),8:N0} MB/s   runs: {string.Join(", ", inflate.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"aggregate .csv.zip  best {fromZip.Max(),8:N0} MB/s   runs: {string.Join(", ", fromZip.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"aggregate .csv      best {fromCsv.Max(),8:N0} MB/s   runs: {string.Join(", ", fromCsv.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"zip / inflate-only  {fromZip.Max() / inflate.Max():N2}x (target >= 0.80x)");
        Console.WriteLine($"plain csv           {fromCsv.Max() / 1000:N2} GB/s (target >= 1 GB/s)");
        Console.WriteLine($"peak working set    {peak:N1} MiB (target < 100 MiB)");
        Console.WriteLine($"load average after: {LoadAverage()}");
        return Task.FromResult(0);
    }

    private static double Measure(string what, long bytes, Action action)
    {
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        action();
        var seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        var rate = bytes / 1e6 / seconds;
        // CPU seconds show the work done when other processes compete for the two cores.
        Console.WriteLine($"  {what,-32} {seconds,7:N2} s  {rate,8:N0} MB/s   cpu {cpu,6:N2} s ({bytes / 1e6 / cpu,6:N0} MB per cpu-s)");
        return rate;
    }

    private static void InflateOnly(string zip)
    {
        using var archive = ZipFile.OpenRead(zip);
        using var entry = archive.Entries[0].Open();
        var buffer = new byte[1 << 20];
        while (entry.Read(buffer, 0, buffer.Length) > 0)
        {
        }
    }

    private static void Check(CurAggregationResult result, BenchmarkTruth truth)
    {
        if (result.Rows != truth.Rows || result.Totals.Unblended.ToString(CultureInfo.InvariantCulture) != truth.Unblended
            || result.Totals.Amortized.ToString(CultureInfo.InvariantCulture) != truth.Amortized)
        {
            throw new InvalidOperationException($"aggregation does not match the generator: {result.Rows} rows, {result.Totals.Unblended} / {result.Totals.Amortized}");
        }
    }

    private static BenchmarkTruth EnsureData(string csv, string zip, string truthPath, long rows)
    {
        if (File.Exists(truthPath) && File.Exists(csv) && File.Exists(zip))
        {
            return JsonSerializer.Deserialize<BenchmarkTruth>(File.ReadAllText(truthPath))!;
        }

        Console.WriteLine($"generating {rows:N0} rows into {csv} and {zip} (cached for later runs)...");
        var truth = ReportFiles.WriteFile(csv, new ReportGeneratorOptions { Rows = rows, Seed = 42 });
        using (var output = new FileStream(zip, FileMode.Create))
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create))
        using (var entry = archive.CreateEntry(Path.GetFileName(csv), CompressionLevel.Optimal).Open())
        using (var input = File.OpenRead(csv))
        {
            input.CopyTo(entry, 1 << 20);
        }

        var saved = new BenchmarkTruth(truth.Rows, truth.Bytes, truth.Columns, truth.Unblended.ToString(CultureInfo.InvariantCulture), truth.Amortized.ToString(CultureInfo.InvariantCulture));
        File.WriteAllText(truthPath, JsonSerializer.Serialize(saved));
        return saved;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private sealed record BenchmarkTruth(long Rows, long Bytes, int Columns, string Unblended, string Amortized);
}
