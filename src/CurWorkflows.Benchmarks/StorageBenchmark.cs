using System.Diagnostics;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage;
using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Stores;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CurWorkflows.Benchmarks;

/// <summary>
/// Stages and atomically replaces one billing period of N resource-day rows (default 1,000,000) into SQLite and
/// PostgreSQL through the production write path, then restates it once; prints rows/s. The replace is split into the
/// switch (until the commit, when readers see the new rows) and the deletion of the superseded rows after it.
/// Usage: storage [--rows N] [--postgres CONNECTION] [--skip-postgres] [--skip-sqlite].
/// PostgreSQL defaults to CURWORKFLOWS_TEST_POSTGRES; a scratch database is created and dropped.
/// </summary>
public sealed class StorageBenchmark : IBenchmark
{
    private static readonly DateOnly Period = new(2026, 1, 1);

    public string Name => "storage";

    public string Description => "stage + replace a billing period of 1,000,000 resource-day rows (SQLite, PostgreSQL)";

    public async Task<int> RunAsync(string[] args)
    {
        var rows = 1_000_000;
        var postgres = Environment.GetEnvironmentVariable("CURWORKFLOWS_TEST_POSTGRES");
        bool skipPostgres = false, skipSqlite = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows": rows = int.Parse(args[++i]); break;
                case "--postgres": postgres = args[++i]; break;
                case "--skip-postgres": skipPostgres = true; break;
                case "--skip-sqlite": skipSqlite = true; break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}");
                    return 2;
            }
        }

        Console.WriteLine($"storage benchmark: {rows:N0} resource-day rows per billing period, {Environment.ProcessorCount} cores");
        var generation = Stopwatch.StartNew();
        var generationCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var generated = 0L;
        foreach (var row in ResourceRows(rows, 1m, _ => { }))
        {
            generated += row.ResourceId.Length;
        }

        Console.WriteLine(
            $"generating the rows alone: {generation.Elapsed.TotalSeconds:F2} s (CPU {(Process.GetCurrentProcess().TotalProcessorTime - generationCpu).TotalSeconds:F2} s, {generated} chars)");
        var failed = false;
        if (!skipSqlite)
        {
            var directory = Path.Combine(Path.GetTempPath(), "curworkflows-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            try
            {
                failed |= !await MeasureAsync(StorageProvider.Sqlite, $"Data Source={Path.Combine(directory, "bench.db")}", rows);
            }
            finally
            {
                SqliteConnection.ClearAllPools();
                Directory.Delete(directory, recursive: true);
            }
        }

        if (!skipPostgres)
        {
            if (string.IsNullOrEmpty(postgres))
            {
                Console.WriteLine("PostgreSQL: skipped (set CURWORKFLOWS_TEST_POSTGRES or pass --postgres)");
            }
            else
            {
                var name = "curworkflows_bench_" + Guid.NewGuid().ToString("N");
                await ExecuteAsync(postgres, $"CREATE DATABASE {name}");
                try
                {
                    failed |= !await MeasureAsync(StorageProvider.PostgreSql, new NpgsqlConnectionStringBuilder(postgres) { Database = name }.ConnectionString, rows);
                }
                finally
                {
                    NpgsqlConnection.ClearAllPools();
                    await ExecuteAsync(postgres, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                }
            }
        }

        return failed ? 1 : 0;
    }

    private static async Task<bool> MeasureAsync(StorageProvider provider, string connectionString, int rows)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:CurWorkflows"] = connectionString,
            ["Storage:Provider"] = provider.ToString(),
        }).Build();
        var commits = new CommitClock();
        await using var services = new ServiceCollection().AddLogging(b => b.AddProvider(commits)).AddCurStorage(configuration).BuildServiceProvider();
        await services.GetRequiredService<StorageMigrator>().MigrateAsync();
        var organization = await services.GetRequiredService<OrganizationStore>().CreateOrganizationAsync("bench");
        var integration = (await services.GetRequiredService<IntegrationStore>().EnableAsync(
            new EnableIntegrationRequest(organization.Id, "arn:aws:iam::123456789012:role/bench", "bench", "bench-bucket"))).Integration;
        var writer = services.GetRequiredService<CostWriter>();
        var runs = services.GetRequiredService<CollectionRunStore>();
        var contexts = services.GetRequiredService<IDbContextFactory<CurWorkflowsDbContext>>();

        var ok = true;
        foreach (var (label, factor) in new[] { ("load", 1m), ("restatement", 2m) })
        {
            var run = await runs.StartAsync(new StartCollectionRunRequest(integration.Id, $"bench-{label}-{Guid.NewGuid():N}", "r", DateTimeOffset.UtcNow));
            var key = new StagingKey(run.Id, integration.Id, Period);
            var expected = CostAmounts.Zero;
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var stopwatch = Stopwatch.StartNew();
            await writer.StageAsync(key, ResourceRows(rows, factor, cost => expected += cost));
            var staged = stopwatch.Elapsed;
            var result = await writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(run.Id, integration.Id, Period, $"assembly-{label}", $"etag-{label}", false, rows));
            var total = stopwatch.Elapsed;
            var committed = commits.LastCommit(stopwatch) ?? total;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

            await using var context = await contexts.CreateDbContextAsync();
            var storedUnblended = await context.ActiveDailyResourceCosts
                .Where(c => c.IntegrationId == integration.Id && c.BillingPeriod == Period)
                .GroupBy(c => c.IntegrationId).Select(g => g.Sum(c => c.Unblended)).SingleAsync();
            // Nothing left of the superseded generation either.
            var remaining = await context.DailyResourceCosts.CountAsync(c => c.IntegrationId == integration.Id);
            var exact = result.DailyResourceRows == rows && storedUnblended == expected.Unblended && remaining == rows;
            ok &= exact;
            Console.WriteLine(
                $"{provider,-10} {label,-11} stage {staged.TotalSeconds,6:F2} s, switch {(committed - staged).TotalSeconds,5:F2} s, " +
                $"delete superseded {result.SupersededRowsDeleted,9:N0} rows {(total - committed).TotalSeconds,5:F2} s, total {total.TotalSeconds,6:F2} s: " +
                $"{rows / total.TotalSeconds,10:N0} rows/s (stage {rows / staged.TotalSeconds:N0} rows/s, visible after {rows / committed.TotalSeconds:N0} rows/s); " +
                $"client CPU {cpu.TotalSeconds:F2} s{(exact ? ", rows and sum exact" : "  MISMATCH: stored rows or sum differ")}");
        }

        return ok;
    }

    /// <summary>Resource-day rows of one month: 31 days x 100 packages (package 0 untagged) x enough resources.</summary>
    private static IEnumerable<DailyResourceCost> ResourceRows(int rows, decimal factor, Action<CostAmounts> observe)
    {
        const int days = 31;
        const int packages = 100;
        var perPackageDay = (rows + (days * packages) - 1) / (days * packages);
        var produced = 0;
        for (var day = 0; day < days; day++)
        {
            var date = Period.AddDays(day);
            for (var package = 0; package < packages; package++)
            {
                var packageName = package == 0 ? PackageNames.Untagged : $"package-{package:D3}";
                for (var resource = 0; resource < perPackageDay; resource++)
                {
                    if (produced++ == rows)
                    {
                        yield break;
                    }

                    var seed = (produced % 9973) + 1;
                    var cost = new CostAmounts(seed * 0.0001234567m * factor, seed * 0.0001134567m * factor, seed * 0.0001334567m * factor);
                    observe(cost);
                    yield return new DailyResourceCost(date, packageName, $"arn:aws:ec2:us-east-1:123456789012:instance/i-{package:D3}{resource:D6}", "AmazonEC2", "USD", cost);
                }
            }
        }
    }

    /// <summary>Notes when the writer logs a committed replace (its "LogReplaced" event), to split the switch from the cleanup.</summary>
    private sealed class CommitClock : ILoggerProvider, ILogger
    {
        private long _lastCommitTimestamp;

        public TimeSpan? LastCommit(Stopwatch since)
        {
            var at = Interlocked.Exchange(ref _lastCommitTimestamp, 0);
            return at == 0 ? null : since.Elapsed - Stopwatch.GetElapsedTime(at);
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name == "LogReplaced")
            {
                Interlocked.Exchange(ref _lastCommitTimestamp, Stopwatch.GetTimestamp());
            }
        }

        public void Dispose()
        {
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
