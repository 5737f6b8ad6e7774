using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;
using CurWorkflows.Aws;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.LocalAws;
using CurWorkflows.ReportGenerator;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Temporalio.Client;
using Temporalio.Testing;

namespace CurWorkflows.Benchmarks;

/// <summary>
/// A zipped report collected end to end (Temporal dev server, local AWS endpoint with the real SDK clients, SQLite)
/// next to the CUR core alone aggregating the same file, in the same run.
/// </summary>
public sealed class EndToEndBenchmark : IBenchmark
{
    private const string RoleArn = "arn:aws:iam::123456789012:role/massdriver-cur-reader";
    private const string ExternalId = "ext-benchmark-0001";
    private const string Bucket = "massdriver-costs-bench";
    private const string PlatformKey = "AKIAPLATFORMBENCH001";
    private const string PlatformSecret = "platform-secret-benchmark-000000000000000";

    public string Name => "e2e";

    public string Description => "end-to-end collection through Temporal + local AWS + SQLite vs the CUR core alone [--rows N] [--passes N] [--keep DIR] [--timeline]";

    public async Task<int> RunAsync(string[] args)
    {
        var rows = long.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        var directory = Option(args, "--keep") ?? Path.Combine(Path.GetTempPath(), "curworkflows-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            var deliveryFile = Path.Combine(directory, "delivery.json");
            GeneratedReport delivery;
            if (File.Exists(deliveryFile))
            {
                delivery = System.Text.Json.JsonSerializer.Deserialize<GeneratedReport>(await File.ReadAllTextAsync(deliveryFile))!;
                Console.WriteLine($"reusing the report in {directory}");
            }
            else
            {
                Console.WriteLine($"generating {rows:N0} rows (zip) into {directory} ...");
                var generated = ReportDelivery.WriteToDirectory(Path.Combine(directory, "report"), new ReportDeliveryOptions
                {
                    Bucket = Bucket,
                    Prefix = "cur",
                    AssemblyId = "bench-1",
                    Report = new ReportGeneratorOptions { Rows = rows, Seed = 7, BillingPeriodStart = new DateOnly(2026, 10, 1) },
                });
                delivery = new GeneratedReport(generated.DataKeys, generated.ManifestKeys, generated.Truth.Rows, generated.Truth.Bytes, generated.Truth.Unblended);
                await File.WriteAllTextAsync(deliveryFile, System.Text.Json.JsonSerializer.Serialize(delivery));
            }

            var dataFile = Path.Combine(directory, "report", delivery.DataKeys.Single().TrimStart('/'));
            var zipBytes = new FileInfo(dataFile).Length;
            Console.WriteLine($"report: {delivery.Rows:N0} rows, {delivery.Bytes / 1e6:N0} MB uncompressed, {zipBytes / 1e6:N0} MB zipped");

            // At least twice each: the first pass of a process pays for JIT compilation (a fresh worker's first collection
            // does too); later passes are what a long-running worker sees. A core pass and a collection alternate, so that
            // both sides of a ratio see the same spell of this machine's speed (it changes by 20-40% from one spell to the
            // next), and each step starts after a quiet pause, so that what the step before left running in the background
            // (the log's checkpoint, tier-1 compilation, a spool file's unlink) is not counted against it.
            var passes = Math.Max(2, int.Parse(Option(args, "--passes") ?? "2", CultureInfo.InvariantCulture));
            var core = new TimeSpan[passes];
            var collections = new List<(TimeSpan Elapsed, long PeakWorkingSet, CollectionSummary Summary)>();
            await using (var collector = await Collector.StartAsync(directory, delivery, args.Contains("--timeline")))
            {
                for (var pass = 0; pass < passes; pass++)
                {
                    await QuietPauseAsync();
                    var cost = StepCost.Start();
                    var watch = Stopwatch.StartNew();
                    var coreResult = CostAggregator.AggregateFile(CurSource.FromFile(dataFile));
                    core[pass] = watch.Elapsed;
                    Check(coreResult.Totals.Unblended == delivery.Unblended, "core totals");
                    Console.WriteLine($"core alone, {Pass(pass)}:  {core[pass].TotalSeconds,7:N2} s  ({delivery.Bytes / 1e6 / core[pass].TotalSeconds:N0} MB/s); {cost}");

                    await QuietPauseAsync();
                    Console.WriteLine($"collection, {Pass(pass)}:");
                    collections.Add(await collector.CollectOnceAsync(pass));
                }
            }

            var ratios = new double[passes];
            for (var pass = 0; pass < collections.Count; pass++)
            {
                var (elapsed, peak, summary) = collections[pass];
                Check(decimal.Parse(summary.UnblendedTotal, CultureInfo.InvariantCulture) == delivery.Unblended, "end-to-end totals");
                ratios[pass] = elapsed / core[pass];
                Console.WriteLine($"end to end, {Pass(pass)}:  {elapsed.TotalSeconds,7:N2} s  ({delivery.Bytes / 1e6 / elapsed.TotalSeconds:N0} MB/s), " +
                    $"ratio to the core's {Pass(pass)} {ratios[pass]:N2}x (target <= 2x); peak working set of the worker process " +
                    $"(which also hosts the local AWS endpoint) {peak / (1 << 20):N0} MiB");
            }

            var bestCore = core.Skip(1).Min();
            var bestCollection = collections.Skip(1).Min(c => c.Elapsed);
            var warmRatios = ratios.Skip(1).Order().ToArray();
            var median = warmRatios.Length % 2 == 1
                ? warmRatios[warmRatios.Length / 2]
                : (warmRatios[(warmRatios.Length / 2) - 1] + warmRatios[warmRatios.Length / 2]) / 2;
            Console.WriteLine($"warm passes, each collection against the core pass just before it: " +
                $"{string.Join(", ", ratios.Skip(1).Select(r => r.ToString("N2", CultureInfo.InvariantCulture) + "x"))}; median {median:N2}x (target <= 2x)");
            Console.WriteLine($"best warm collection {bestCollection.TotalSeconds:N2} s vs best warm core pass {bestCore.TotalSeconds:N2} s: " +
                $"{bestCollection / bestCore:N2}x (target <= 2x)");
            return 0;
        }
        finally
        {
            if (Option(args, "--keep") is null)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static string Pass(int pass) => pass switch
    {
        0 => "first pass (cold)",
        1 => "second pass (warm)",
        _ => $"pass {pass + 1} (warm)",
    };

    /// <summary>Lets the machine settle before a measured step: a full GC, then two seconds (the log's checkpoint runs
    /// every second).</summary>
    private static async Task QuietPauseAsync()
    {
        GC.Collect();
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    /// <summary>
    /// One worker with its Temporal dev server, local AWS endpoint and SQLite database. Each collection is a new
    /// organization's integration of the same bucket, so that every pass collects and stores the whole period.
    /// </summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly WorkflowEnvironment _temporal;
        private readonly LocalAwsServer _aws;
        private readonly IHost _host;
        private readonly string _taskQueue;
        private readonly bool _timeline;

        private Collector(WorkflowEnvironment temporal, LocalAwsServer aws, IHost host, string taskQueue, bool timeline)
        {
            _temporal = temporal;
            _aws = aws;
            _host = host;
            _taskQueue = taskQueue;
            _timeline = timeline;
        }

        public static async Task<Collector> StartAsync(string directory, GeneratedReport delivery, bool timeline)
        {
            var temporal = await WorkflowEnvironment.StartLocalAsync(new()
            {
                SearchAttributes = [.. CurSearchAttributes.All],
                DevServerOptions = new() { ExistingPath = TemporalCli.Resolve(null) ?? SharedCli(), LogLevel = "error" },
            });
            LocalAwsServer? aws = null;
            try
            {
                aws = await LocalAwsServer.StartAsync(new LocalAwsOptions
                {
                    PlatformKeys = [new LocalAwsAccessKey { AccessKeyId = PlatformKey, SecretAccessKey = PlatformSecret }],
                    Roles = [new LocalAwsRoleTrust { RoleArn = RoleArn, ExternalId = ExternalId }],
                    Buckets = [Bucket],
                    DataDirectory = Path.Combine(directory, "aws"),
                    LoggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning)),
                });
                foreach (var key in delivery.DataKeys.Concat(delivery.ManifestKeys))
                {
                    await aws.Objects.PutObjectFromFileAsync(Bucket, key, Path.Combine(directory, "report", key.TrimStart('/')));
                }

                var taskQueue = "bench-" + Guid.NewGuid().ToString("N")[..8];
                var host = BuildWorker(directory, temporal, aws, taskQueue);
                await host.StartAsync();
                return new Collector(temporal, aws, host, taskQueue, timeline);
            }
            catch
            {
                if (aws is not null)
                {
                    await aws.DisposeAsync();
                }

                await temporal.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _host.StopAsync();
            }
            finally
            {
                _host.Dispose();
                await _aws.DisposeAsync();
                await _temporal.DisposeAsync();
            }
        }

        public Task<(TimeSpan Elapsed, long PeakWorkingSet, CollectionSummary Summary)> CollectOnceAsync(int pass) =>
            EndToEndBenchmark.CollectOnceAsync(_temporal, _host, _taskQueue, pass, _timeline);

        private static IHost BuildWorker(string directory, WorkflowEnvironment temporal, LocalAwsServer aws, string taskQueue)
        {
            // No configuration files to reload: left on, the reload watcher covers the working directory recursively and,
            // run from a directory that holds the spool (say /tmp), wakes for every write of a download.
            var settings = new HostApplicationBuilderSettings { Configuration = new ConfigurationManager() };
            settings.Configuration.AddInMemoryCollection([new("hostBuilder:reloadConfigOnChange", "false")]);
            var builder = Host.CreateApplicationBuilder(settings);
            builder.Logging.ClearProviders();
            // The aggregation activity's own breakdown (prepare, parse, save) is part of where the time went.
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true)
                .AddFilter((category, level) => category == typeof(CurWorkflows.Workflows.Activities.ReportFileActivities).FullName && level >= LogLevel.Information);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Temporal:Address"] = temporal.Client.Connection.Options.TargetHost,
                ["Temporal:TaskQueue"] = taskQueue,
                ["ConnectionStrings:CurWorkflows"] = $"Data Source={Path.Combine(directory, "bench.db")}",
                ["Storage:StagingSweepInterval"] = "00:00:00",
                ["Aws:StsServiceUrl"] = aws.Url.ToString(),
                ["Aws:S3ServiceUrl"] = aws.Url.ToString(),
                ["Aws:TaggingServiceUrl"] = aws.Url.ToString(),
                ["Aws:S3ForcePathStyle"] = "true",
                ["Collection:SpoolDirectory"] = Path.Combine(directory, "spool"),
            });
            builder.Services.AddSingleton(new AwsPlatformCredentials(new BasicAWSCredentials(PlatformKey, PlatformSecret)));
            builder.AddCurWorkflowsWorker();
            return builder.Build();
        }
    }

    private static async Task<(TimeSpan Elapsed, long PeakWorkingSet, CollectionSummary Summary)> CollectOnceAsync(
        WorkflowEnvironment temporal, IHost host, string taskQueue, int pass, bool timeline)
    {
        var organization = await host.Services.GetRequiredService<OrganizationStore>().CreateOrganizationAsync($"bench-{pass}");
        var integration = (await host.Services.GetRequiredService<IntegrationStore>()
            .EnableAsync(new EnableIntegrationRequest(organization.Id, RoleArn, ExternalId, Bucket, "cur"))).Integration;

        using var process = Process.GetCurrentProcess();
        GC.Collect();
        // Linux keeps the peak resident set itself and resets it on request: exact, and nothing runs beside the
        // collection. Elsewhere a sampler reads the working set every 50 ms (its own CPU counts against the collection).
        var kernelPeak = TryResetPeakResidentSet();
        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = kernelPeak ? Task.CompletedTask : Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                await Task.Delay(50, CancellationToken.None);
            }
        });
        var cost = StepCost.Start();
        var watch = Stopwatch.StartNew();
        var started = DateTime.UtcNow;
        var summary = await temporal.Client.ExecuteWorkflowAsync(
            (CollectionWorkflow wf) => wf.RunAsync(new CollectionWorkflowInput(integration.Id.ToString(), organization.Id.ToString())),
            new(IntegrationWorkflow.CollectionWorkflowIdFor(integration.Id.ToString(), started), taskQueue)
            {
                TypedSearchAttributes = CurSearchAttributes.For(integration.Id.ToString(), organization.Id.ToString()),
            });
        watch.Stop();
        Console.WriteLine($"collected in {watch.Elapsed.TotalSeconds:N2} s; {cost}");
        await sampling.CancelAsync();
        await sampler;
        if (kernelPeak)
        {
            process.Refresh();
            peak = process.PeakWorkingSet64;
        }

        Console.WriteLine($"run summary: {summary}");
        await PrintActivityTimesAsync(temporal.Client, IntegrationWorkflow.CollectionWorkflowIdFor(integration.Id.ToString(), started), timeline);
        return (watch.Elapsed, peak, summary);
    }

    /// <summary>Where the time went: each activity's scheduled-to-completed duration, from the run's history; with
    /// <paramref name="timeline"/>, every event too, at its offset from the run's start (the hand-offs between activities).</summary>
    private static async Task PrintActivityTimesAsync(ITemporalClient client, string workflowId, bool timeline)
    {
        var history = await client.GetWorkflowHandle(workflowId).FetchHistoryAsync();
        var scheduled = new Dictionary<long, (string Type, DateTime At)>();
        var runStart = history.Events.First().EventTime.ToDateTime();
        foreach (var e in history.Events)
        {
            if (timeline)
            {
                Console.WriteLine($"    {(e.EventTime.ToDateTime() - runStart).TotalMilliseconds,9:N1} ms  {e.EventType}");
            }

            if (e.ActivityTaskScheduledEventAttributes is { } s)
            {
                scheduled[e.EventId] = (s.ActivityType.Name, e.EventTime.ToDateTime());
            }
            else if (e.ActivityTaskCompletedEventAttributes is { } c && scheduled.TryGetValue(c.ScheduledEventId, out var start))
            {
                Console.WriteLine($"  {start.Type,-20} {(e.EventTime.ToDateTime() - start.At).TotalSeconds,7:N2} s");
            }
        }
    }

    /// <summary>Resets the process's peak resident set (VmHWM), which Linux allows since 4.0.</summary>
    private static bool TryResetPeakResidentSet()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string? SharedCli()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "tools", "temporal");
            if (File.Exists(Path.Combine(dir.FullName, "CurWorkflows.sln")) && File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"{what} do not match the generator's truth");
        }
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}

/// <summary>
/// What a measured step cost beyond its wall time, since <see cref="Start"/>: the CPU time of this process and of the
/// whole machine (Linux: /proc/stat; the Temporal dev server is another process), and what the JIT compiler did in this
/// process. A fresh worker's first collection is the first use of Temporal, the AWS SDK and EF Core, and most of what it
/// takes beyond a warm collection is their compilation.
/// </summary>
internal sealed record StepCost(long JitMethods, TimeSpan JitTime, TimeSpan ProcessCpu, TimeSpan? MachineCpu)
{
    public static StepCost Start()
    {
        using var process = Process.GetCurrentProcess();
        return new(System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime(), process.TotalProcessorTime, MachineBusy());
    }

    public override string ToString()
    {
        var now = Start();
        var machine = now.MachineCpu - MachineCpu is { } busy ? $", the machine {busy.TotalSeconds:N2} s" : "";
        return $"CPU: this process {(now.ProcessCpu - ProcessCpu).TotalSeconds:N2} s{machine}; JIT: {now.JitMethods - JitMethods:N0} methods, " +
            $"{(now.JitTime - JitTime).TotalSeconds:N2} s of compilation";
    }

    /// <summary>Busy time of all cores (user, nice, system, irq, softirq, steal) from the first line of /proc/stat.</summary>
    private static TimeSpan? MachineBusy()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long ticks = 0;
            foreach (var index in new[] { 1, 2, 3, 6, 7, 8 })
            {
                ticks += long.Parse(fields[index], CultureInfo.InvariantCulture);
            }

            // USER_HZ is 100 on every Linux this runs on.
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}

/// <summary>What the benchmark needs of a generated report (kept next to it, so that --keep DIR reuses it).</summary>
public sealed record GeneratedReport(IReadOnlyList<string> DataKeys, IReadOnlyList<string> ManifestKeys, long Rows, long Bytes, decimal Unblended);
