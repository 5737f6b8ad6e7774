using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage;
using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Stores;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CurWorkflows.Benchmarks;

/// <summary>
/// Latency of the cost endpoints under 50 concurrent clients: seeds an organization with 20 integrations, 200
/// packages and a year of daily data, starts the service (API role) as its own process on loopback, and drives each
/// endpoint with bombardier for a bounded number of requests. SQLite always; PostgreSQL when
/// CURWORKFLOWS_TEST_POSTGRES (or --postgres "connection string") names a server.
/// </summary>
public sealed class ApiBenchmark : IBenchmark
{
    private const int Integrations = 20;
    private const int PackagesPerIntegration = 10;
    private const int Concurrency = 50;
    private static readonly string[] Products = ["AmazonEC2", "AmazonRDS"];

    public string Name => "api";

    public string Description => "cost endpoints under 50 clients (bombardier), 20 integrations x 200 packages x 1 year; SQLite and PostgreSQL";

    public async Task<int> RunAsync(string[] args)
    {
        var requests = IntOption(args, "--requests", 5000);
        var uncachedRequests = IntOption(args, "--uncached-requests", 500);
        // Cached: the service as configured by default. Uncached: Api:CostCacheEnabled=false, every answer computed.
        var modes = new List<(string Mode, int Requests, string[] ServiceArgs)>();
        if (!args.Contains("--uncached-only"))
        {
            modes.Add(("cached", requests, []));
        }

        if (!args.Contains("--cached-only"))
        {
            modes.Add(("uncached", uncachedRequests, ["--Api:CostCacheEnabled=false"]));
        }

        var root = RepositoryRoot();
        var bombardier = Path.GetFullPath(Path.Combine(root, "..", "shared", "tools", "bombardier"));
        if (!File.Exists(bombardier))
        {
            Console.Error.WriteLine($"bombardier not found at {bombardier}");
            return 1;
        }

        var serviceDll = await BuildServiceAsync(root);
        var postgres = args.Contains("--sqlite-only")
            ? null
            : StringOption(args, "--postgres") ?? Environment.GetEnvironmentVariable("CURWORKFLOWS_TEST_POSTGRES");
        var work = Path.Combine(Path.GetTempPath(), "curworkflows-api-benchmark-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);

        var providers = new List<(string Provider, string ConnectionString)> { ("Sqlite", $"Data Source={Path.Combine(work, "benchmark.db")}") };
        string? postgresDatabase = null;
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            postgresDatabase = "cw_api_benchmark_" + Guid.NewGuid().ToString("N")[..8];
            providers.Add(("PostgreSql", new NpgsqlConnectionStringBuilder(postgres) { Database = postgresDatabase }.ConnectionString));
        }

        var failures = 0;
        Console.WriteLine($"API benchmark: {Integrations} integrations, {Integrations * PackagesPerIntegration} packages, 365 days; " +
            $"bombardier -c {Concurrency} -n <requests> per endpoint, loopback; modes: {string.Join(", ", modes.Select(m => $"{m.Mode} (-n {m.Requests})"))}.");
        Console.WriteLine($"{"provider",-11} {"mode",-9} {"endpoint",-40} {"req/s",8} {"median ms",10} {"p99 ms",9}  target (50 / 200 ms)");
        try
        {
            foreach (var (provider, connectionString) in providers)
            {
                var seed = await SeedAsync(provider, connectionString);
                foreach (var (mode, modeRequests, serviceArgs) in modes)
                {
                    await using var service = await ServiceProcess.StartAsync(serviceDll, provider, connectionString, serviceArgs);
                    Console.WriteLine($"{provider,-11} {mode,-9} service listening on {service.BaseUrl}");
                    await WarmUpAsync(service.BaseUrl, seed);
                    foreach (var (label, path) in Endpoints(seed))
                    {
                        LoadResult result;
                        try
                        {
                            result = await RunBombardierAsync(bombardier, service.BaseUrl + path, seed.ApiKey, modeRequests);
                        }
                        catch (TimeoutException timeout)
                        {
                            failures++;
                            Console.WriteLine($"{provider,-11} {mode,-9} {label,-40} MISSED: {timeout.Message}");
                            continue;
                        }

                        var pass = result.Errors == 0 && result.MedianMs < 50 && result.P99Ms < 200;
                        // The target is for the service as configured (cached); uncached figures are reported, not judged.
                        failures += pass || mode != "cached" ? 0 : 1;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{provider,-11} {mode,-9} {label,-40} {result.RequestsPerSecond,8:F0} {result.MedianMs,10:F2} {result.P99Ms,9:F2}  {(pass ? "ok" : "MISSED")}{(result.Errors > 0 ? $" ({result.Errors} errors)" : "")}"));
                    }
                }
            }
        }
        finally
        {
            if (postgresDatabase is not null)
            {
                await DropPostgresDatabaseAsync(postgres!, postgresDatabase);
            }

            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        }

        return failures == 0 ? 0 : 1;
    }

    private static IEnumerable<(string Label, string Path)> Endpoints(Seed seed)
    {
        var year = seed.FirstDay.Year;
        var lastMonth = seed.FirstDay.AddMonths(11);
        yield return ("monthly by package, 12 months", $"/api/v1/costs?granularity=monthly&from={year}-01-01&to={year}-12-31");
        yield return ("daily by package, 1 month", $"/api/v1/costs?from={D(lastMonth)}&to={D(lastMonth.AddMonths(1).AddDays(-1))}");
        yield return ("daily, 3 packages, 1 quarter", $"/api/v1/costs?from={D(lastMonth.AddMonths(-2))}&to={D(lastMonth.AddMonths(1).AddDays(-1))}" +
            string.Concat(seed.Packages.Take(3).Select(p => $"&package={p}")));
        yield return ("daily by resource, 1 package, 1 month", $"/api/v1/costs/resources?package={seed.Packages[0]}&from={D(lastMonth)}&to={D(lastMonth.AddMonths(1).AddDays(-1))}");
        yield return ("monthly CSV, 12 months", $"/api/v1/costs?granularity=monthly&from={year}-01-01&to={year}-12-31&format=csv");
    }

    /// <summary>
    /// One request per endpoint for another date range (the first month of data) so that the figures are of a running
    /// service, not of JIT and EF query compilation in a process just started. The measured answers still start uncached.
    /// </summary>
    private static async Task WarmUpAsync(string baseUrl, Seed seed)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", seed.ApiKey);
        var month = $"from={D(seed.FirstDay)}&to={D(seed.FirstDay.AddMonths(1).AddDays(-1))}";
        foreach (var path in new[]
        {
            $"/api/v1/costs?granularity=monthly&{month}", $"/api/v1/costs?{month}", $"/api/v1/costs?{month}&package={seed.Packages[1]}",
            $"/api/v1/costs/resources?package={seed.Packages[1]}&{month}", $"/api/v1/costs?granularity=monthly&{month}&format=csv",
        })
        {
            using var response = await http.GetAsync(new Uri(baseUrl + path));
            response.EnsureSuccessStatusCode();
        }
    }

    private sealed record Seed(string ApiKey, DateOnly FirstDay, IReadOnlyList<string> Packages);

    /// <summary>Writes the data the way collection runs do: staged per billing period, then swapped in.</summary>
    private static async Task<Seed> SeedAsync(string provider, string connectionString)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = provider,
            ["ConnectionStrings:CurWorkflows"] = connectionString,
        }).Build();
        var services = new ServiceCollection().AddLogging(l => l.SetMinimumLevel(LogLevel.Warning)).AddCurStorage(configuration);
        await using var storage = services.BuildServiceProvider();
        await storage.GetRequiredService<StorageMigrator>().MigrateAsync();
        var organizations = storage.GetRequiredService<OrganizationStore>();
        var integrations = storage.GetRequiredService<IntegrationStore>();
        var runs = storage.GetRequiredService<CollectionRunStore>();
        var writer = storage.GetRequiredService<CostWriter>();

        var stopwatch = Stopwatch.StartNew();
        var organization = await organizations.CreateOrganizationAsync("benchmark");
        var key = await organizations.CreateApiKeyAsync(organization.Id, "benchmark");
        var firstDay = new DateOnly(DateTime.UtcNow.Year - 1, 1, 1);
        var allPackages = new List<string>();
        long rows = 0;
        for (var i = 0; i < Integrations; i++)
        {
            var integration = (await integrations.EnableAsync(new EnableIntegrationRequest(
                organization.Id, $"arn:aws:iam::{100000000000 + i}:role/massdriver-cur-reader", "benchmark-external-id", $"massdriver-costs-bench{i:D4}"))).Integration;
            var packages = Enumerable.Range(0, PackagesPerIntegration).Select(p => $"pkg-{i:D2}-{p:D2}").ToList();
            allPackages.AddRange(packages);
            for (var month = firstDay; month < firstDay.AddYears(1); month = month.AddMonths(1))
            {
                var run = await runs.StartAsync(new StartCollectionRunRequest(
                    integration.Id, $"cur-collection-{integration.Id}-{month:yyyyMMdd}", "benchmark", DateTimeOffset.UtcNow));
                var batch = Batch(packages, month, i);
                await writer.StageAsync(new StagingKey(run.Id, integration.Id, month), batch);
                await writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(run.Id, integration.Id, month, $"assembly-{month:yyyyMM}", "etag", true));
                await runs.CompleteAsync(new CompleteCollectionRunRequest(run.Id, Storage.Entities.CollectionRunOutcome.Succeeded, DateTimeOffset.UtcNow));
                rows += batch.DailyPackageCosts.Count + batch.DailyResourceCosts.Count + batch.MonthlyPackageCosts.Count;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{provider,-11} seeded {rows:N0} aggregate rows in {stopwatch.Elapsed.TotalSeconds:F1} s"));
        return new Seed(key.Secret, firstDay, allPackages);
    }

    private static CostAggregateBatch Batch(List<string> packages, DateOnly month, int integration)
    {
        var daily = new List<DailyPackageCost>();
        var resources = new List<DailyResourceCost>();
        var monthly = new List<MonthlyPackageCost>();
        var random = new Random((integration * 100) + month.Month);
        foreach (var package in packages.Append(PackageNames.Untagged))
        {
            var total = CostAmounts.Zero;
            for (var day = month; day < month.AddMonths(1); day = day.AddDays(1))
            {
                foreach (var product in Products)
                {
                    var unblended = Math.Round((decimal)random.NextDouble() * 40m, 10);
                    var cost = new CostAmounts(unblended, unblended * 0.97m, unblended * 1.01m);
                    daily.Add(new DailyPackageCost(day, package, product, "USD", cost));
                    resources.Add(new DailyResourceCost(day, package, $"i-{integration:D2}{package.GetHashCode(StringComparison.Ordinal) & 0xffff:x4}{product[6..]}", product, "USD", cost));
                    total += cost;
                }
            }

            monthly.Add(new MonthlyPackageCost(month, package, "USD", total));
        }

        return new CostAggregateBatch(daily, resources, monthly);
    }

    private sealed record LoadResult(double RequestsPerSecond, double MedianMs, double P99Ms, long Errors);

    private static async Task<LoadResult> RunBombardierAsync(string bombardier, string url, string apiKey, int requests)
    {
        var start = new ProcessStartInfo(bombardier)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "-c", Concurrency.ToString(CultureInfo.InvariantCulture), "-n", requests.ToString(CultureInfo.InvariantCulture),
            "-t", "10s", "-l", "-o", "json", "-p", "r", "-H", $"Authorization: Bearer {apiKey}", url,
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bombardier did not start");
        var outputTask = process.StandardOutput.ReadToEndAsync();
        var errorTask = process.StandardError.ReadToEndAsync();
        using (var bounded = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            try
            {
                await process.WaitForExitAsync(bounded.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                throw new TimeoutException($"bombardier did not finish {requests} requests to {url} within 2 minutes.");
            }
        }

        var output = await outputTask;
        var error = await errorTask;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"bombardier failed ({process.ExitCode}): {error}");
        }

        var result = JsonDocument.Parse(output).RootElement.GetProperty("result");
        var percentiles = result.GetProperty("latency").GetProperty("percentiles");
        var errors = result.GetProperty("req4xx").GetInt64() + result.GetProperty("req5xx").GetInt64() + result.GetProperty("others").GetInt64();
        return new LoadResult(
            result.GetProperty("rps").GetProperty("mean").GetDouble(),
            percentiles.GetProperty("50").GetDouble() / 1000,
            percentiles.GetProperty("99").GetDouble() / 1000,
            errors);
    }

    private static async Task<string> BuildServiceAsync(string root)
    {
        var project = Path.Combine(root, "src", "CurWorkflows.Service");
        // Output is not redirected: MSBuild's reused nodes would inherit the pipe and keep it open after the build.
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var argument in new[] { "build", "-c", "Release", "--nologo", "-v", "q", "-nodeReuse:false", project })
        {
            start.ArgumentList.Add(argument);
        }

        using var build = Process.Start(start)!;
        await build.WaitForExitAsync();
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException("Building the service failed.");
        }

        return Path.Combine(project, "bin", "Release", "net10.0", "CurWorkflows.Service.dll");
    }

    private static async Task DropPostgresDatabaseAsync(string admin, string database)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CurWorkflows.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("CurWorkflows.sln not found.");
    }

    private static int IntOption(string[] args, string name, int fallback) =>
        StringOption(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private static string? StringOption(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static string D(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The service as a child process (API role, no Temporal needed for cost reads), stopped by its process id.</summary>
    private sealed class ServiceProcess : IAsyncDisposable
    {
        private readonly Process process;

        private ServiceProcess(Process process, string baseUrl)
        {
            this.process = process;
            BaseUrl = baseUrl;
        }

        public string BaseUrl { get; }

        public static async Task<ServiceProcess> StartAsync(string serviceDll, string provider, string connectionString, IEnumerable<string> extraArgs)
        {
            var port = FreePort();
            var baseUrl = $"http://127.0.0.1:{port}";
            var start = new ProcessStartInfo("dotnet")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetDirectoryName(serviceDll)!,
            };
            foreach (var argument in new[]
            {
                serviceDll, "--urls", baseUrl, "--Host:Role=Api", $"--Temporal:Address=127.0.0.1:{FreePort()}",
                $"--Storage:Provider={provider}", $"--ConnectionStrings:CurWorkflows={connectionString}",
                "--Storage:ApplyMigrationsOnStartup=false", "--Api:CreateBootstrapKey=false", "--Logging:LogLevel:Default=Warning",
            }.Concat(extraArgs))
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("The service did not start.");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    using var live = await http.GetAsync(new Uri(baseUrl + "/health/live"));
                    if (live.IsSuccessStatusCode)
                    {
                        return new ServiceProcess(process, baseUrl);
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (TaskCanceledException)
                {
                    // Not answering yet.
                }

                await Task.Delay(250);
            }

            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new InvalidOperationException("The service did not become live within 60 s.");
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
