using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Storage.Tests;

public sealed class MigrationTests
{
    private static readonly string[] Tables =
    [
        "organizations", "api_keys", "integrations", "collection_runs", "billing_periods", "daily_package_costs",
        "daily_resource_costs", "monthly_package_costs", "cost_generations",
    ];

    public static TheoryData<StorageProvider> Providers => [StorageProvider.Sqlite, StorageProvider.PostgreSql, StorageProvider.SqlServer];

    [Theory]
    [MemberData(nameof(Providers))]
    public void Migrations_are_up_to_date_with_the_model(StorageProvider provider)
    {
        using var context = ContextFor(provider);

        Assert.Equal(provider, context.Provider);
        Assert.NotEmpty(context.Database.GetMigrations());
        Assert.False(context.Database.HasPendingModelChanges(), $"Run `dotnet ef migrations add <Name> --context {context.GetType().Name}`.");
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void Compiled_models_are_in_use_and_match_the_model_the_configuration_builds(StorageProvider provider)
    {
        using var context = ContextFor(provider);
        var compiled = context.Model;
        var built = context.GetService<IDesignTimeModel>().Model;
        var regenerate = $"Run `dotnet ef dbcontext optimize --context {context.GetType().Name}` (docs/storage.md).";

        Assert.Equal($"CurWorkflows.Storage.CompiledModels.{provider}", compiled.GetType().Namespace);
        // Left on, Migrate would build the configuration's model on every start to compare it with the snapshot; the
        // test above makes that comparison instead.
        Assert.Equal(
            WarningBehavior.Ignore,
            context.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()!.WarningsConfiguration
                .GetBehavior(RelationalEventId.PendingModelChangesWarning));
        var expected = Describe(built);
        var actual = Describe(compiled);
        Assert.Contains(expected, line => line.StartsWith("table ", StringComparison.Ordinal));
        Assert.True(
            expected.SequenceEqual(actual),
            $"{regenerate}\n{string.Join('\n', expected.Except(actual).Select(l => "- " + l).Concat(actual.Except(expected).Select(l => "+ " + l)))}");
    }

    [Fact]
    public void SqlServer_idempotent_migration_script_creates_every_table()
    {
        using var context = ContextFor(StorageProvider.SqlServer);

        var script = context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        Assert.Contains("IF NOT EXISTS (\n    SELECT * FROM [__EFMigrationsHistory]", script.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        foreach (var table in Tables)
        {
            Assert.Contains($"CREATE TABLE [{table}]", script, StringComparison.Ordinal);
        }

        // Amounts end at 12 decimal places, the most the CUR core accepts, so stored totals reconcile exactly.
        Assert.Contains("ALTER TABLE [daily_resource_costs] ALTER COLUMN [unblended] decimal(28,12) NOT NULL", script, StringComparison.Ordinal);
        Assert.Contains("CREATE UNIQUE INDEX [IX_integrations_organization_id_bucket_name_role_arn]", script, StringComparison.Ordinal);
        Assert.Contains("CREATE INDEX [IX_daily_resource_costs_organization_id_package_usage_date]", script, StringComparison.Ordinal);
        // Cost rows carry their run (generation); existing rows take their period's run before the staging tables go.
        Assert.Contains("CREATE INDEX [IX_daily_resource_costs_collection_run_id_package_usage_date]", script, StringComparison.Ordinal);
        Assert.Contains("EXEC(N'UPDATE daily_resource_costs SET collection_run_id = (", script, StringComparison.Ordinal);
        Assert.True(
            script.IndexOf("INSERT INTO cost_generations", StringComparison.Ordinal) < script.IndexOf("DROP TABLE [staging_daily_resource_costs]", StringComparison.Ordinal),
            "staged rows move before the staging tables are dropped");
        // Text compares by code point, as on the other databases: the packages `web` and `Web` stay two (the server's
        // default collation ignores case). The indexes on a column are dropped and created again around the change.
        foreach (var table in new[] { "daily_resource_costs", "daily_package_costs", "monthly_package_costs" })
        {
            Assert.Contains($"ALTER TABLE [{table}] ALTER COLUMN [package] nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL;", script, StringComparison.Ordinal);
        }

        Assert.Contains("ALTER TABLE [daily_resource_costs] ALTER COLUMN [resource_id] nvarchar(2048) COLLATE Latin1_General_100_BIN2 NOT NULL;", script, StringComparison.Ordinal);
        var collated = script.IndexOf("ALTER TABLE [daily_resource_costs] ALTER COLUMN [package]", StringComparison.Ordinal);
        Assert.True(
            script.LastIndexOf("DROP INDEX [IX_daily_resource_costs_collection_run_id_package_usage_date]", collated, StringComparison.Ordinal) >= 0
            && script.IndexOf("CREATE INDEX [IX_daily_resource_costs_collection_run_id_package_usage_date]", collated, StringComparison.Ordinal) > collated,
            "the index on the package column is dropped before the change and created after it");
    }

    [Fact]
    public async Task Upgrading_keeps_stored_periods_visible_and_moves_staged_rows_into_their_runs_generation()
    {
        var (organizationId, integrationId, activeRun, stagingRun) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var january = new DateOnly(2026, 1, 1);
        var stagedAt = new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.Zero);
        await UpgradeSqliteAsync(
            "CostAmountsTwelveDecimalPlaces",
            async context =>
            {
                context.Organizations.Add(new Entities.Organization { Id = organizationId, Name = "upgrade" });
                context.Integrations.Add(new Entities.Integration { Id = integrationId, OrganizationId = organizationId, RoleArn = "arn:aws:iam::1:role/r", BucketName = "b" });
                context.BillingPeriods.Add(new Entities.BillingPeriod
                {
                    IntegrationId = integrationId,
                    PeriodStart = january,
                    OrganizationId = organizationId,
                    AssemblyId = "a",
                    ManifestETag = "e",
                    CollectionRunId = activeRun,
                    Currency = "USD",
                    Unblended = 3.5m,
                    NetUnblended = 3.5m,
                    Amortized = 3.5m,
                });
                await context.SaveChangesAsync();
                var database = context.Database;
                object[] live = [organizationId, integrationId, january, january.AddDays(1), 3.5m];
                await database.ExecuteSqlRawAsync(
                    "INSERT INTO daily_package_costs (organization_id, integration_id, billing_period, usage_date, package, product_code, currency, unblended, net_unblended, amortized) VALUES ({0}, {1}, {2}, {3}, 'web', 'AmazonEC2', 'USD', {4}, {4}, {4})", live);
                await database.ExecuteSqlRawAsync(
                    "INSERT INTO daily_resource_costs (organization_id, integration_id, billing_period, usage_date, package, resource_id, product_code, currency, unblended, net_unblended, amortized) VALUES ({0}, {1}, {2}, {3}, 'web', 'i-1', 'AmazonEC2', 'USD', {4}, {4}, {4})", live);
                await database.ExecuteSqlRawAsync(
                    "INSERT INTO monthly_package_costs (organization_id, integration_id, billing_period, month, package, currency, unblended, net_unblended, amortized) VALUES ({0}, {1}, {2}, {2}, 'web', 'USD', {4}, {4}, {4})", live);
                await database.ExecuteSqlRawAsync(
                    "INSERT INTO staging_daily_resource_costs (collection_run_id, integration_id, billing_period, usage_date, package, resource_id, product_code, currency, unblended, net_unblended, amortized, staged_at) VALUES ({0}, {1}, {2}, {3}, 'web', 'i-2', 'AmazonEC2', 'USD', 7.25, 7.25, 7.25, {4})",
                    stagingRun, integrationId, january, january.AddDays(2), new Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter().ConvertToProvider(stagedAt)!);
            },
            async (context, factory) =>
            {
                Assert.Equal(3.5m, (await context.ActiveDailyPackageCosts.SingleAsync()).Unblended);
                Assert.Equal("i-1", (await context.ActiveDailyResourceCosts.SingleAsync()).ResourceId);
                Assert.Equal(activeRun, (await context.ActiveMonthlyPackageCosts.SingleAsync()).CollectionRunId);
                var staged = await context.DailyResourceCosts.SingleAsync(c => c.CollectionRunId == stagingRun);
                Assert.Equal((organizationId, "i-2", 7.25m), (staged.OrganizationId, staged.ResourceId, staged.Unblended));
                var generation = await context.CostGenerations.SingleAsync();
                Assert.Equal((stagingRun, integrationId, january, (DateTimeOffset?)null), (generation.CollectionRunId, generation.IntegrationId, generation.BillingPeriod, generation.SupersededAt));
                Assert.Equal(stagedAt, generation.CreatedAt);
                var totals = await new Costs.CostReader(factory).GetTotalsAsync(new Costs.CostQuery(organizationId, january, january.AddDays(30)));
                Assert.Equal(3.5m, Assert.Single(totals).Total.Unblended);
            });
    }

    [Fact]
    public async Task Upgrading_lets_the_next_run_decide_again_which_periods_are_final()
    {
        var (organizationId, integrationId) = (Guid.NewGuid(), Guid.NewGuid());
        await UpgradeSqliteAsync(
            "CostRowsCarryTheirRun",
            async context =>
            {
                context.Organizations.Add(new Entities.Organization { Id = organizationId, Name = "final" });
                context.Integrations.Add(new Entities.Integration { Id = integrationId, OrganizationId = organizationId, RoleArn = "arn:aws:iam::1:role/r", BucketName = "b" });
                // Marked final by the old rule: one row of the month carried an invoice id.
                context.BillingPeriods.Add(new Entities.BillingPeriod
                {
                    IntegrationId = integrationId,
                    PeriodStart = new DateOnly(2026, 9, 1),
                    OrganizationId = organizationId,
                    AssemblyId = "a",
                    ManifestETag = "e",
                    IsFinal = true,
                    Currency = "USD",
                });
                await context.SaveChangesAsync();
            },
            async (context, _) => Assert.False((await context.BillingPeriods.SingleAsync()).IsFinal));
    }

    /// <summary>A SQLite database migrated up to <paramref name="fromMigration"/>, given data by <paramref name="seed"/>,
    /// then migrated to the end and checked by <paramref name="check"/>.</summary>
    private static async Task UpgradeSqliteAsync(
        string fromMigration, Func<CurWorkflowsDbContext, Task> seed, Func<CurWorkflowsDbContext, CurWorkflowsDbContextFactory, Task> check)
    {
        var directory = Path.Combine(Path.GetTempPath(), "curworkflows-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var connectionString = $"Data Source={Path.Combine(directory, "curworkflows.db")}";
        var factory = new CurWorkflowsDbContextFactory(new StorageOptions { Provider = StorageProvider.Sqlite, ConnectionString = connectionString });
        try
        {
            await using (var context = factory.CreateDbContext())
            {
                await context.GetService<IMigrator>().MigrateAsync(fromMigration);
                await seed(context);
            }

            await using (var context = factory.CreateDbContext())
            {
                await context.Database.MigrateAsync();
                Assert.Empty(await context.Database.GetPendingMigrationsAsync());
                await check(context, factory);
            }
        }
        finally
        {
            factory.Dispose();
            SqlitePool.Clear(connectionString);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(StorageProvider.PostgreSql, "UPDATE billing_periods SET is_final = false;")]
    [InlineData(StorageProvider.SqlServer, "UPDATE billing_periods SET is_final = 0;")]
    public void The_upgrade_resets_final_periods_on_every_provider(StorageProvider provider, string statement)
    {
        using var context = ContextFor(provider);

        Assert.Contains(statement, context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent), StringComparison.Ordinal);
    }

    [Fact]
    public void PostgreSql_migration_script_uses_exact_numeric_columns()
    {
        using var context = ContextFor(StorageProvider.PostgreSql);

        var script = context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        foreach (var table in Tables)
        {
            Assert.Contains($"CREATE TABLE {table} (", script, StringComparison.Ordinal);
        }

        Assert.Contains("unblended numeric(28,10) NOT NULL", script, StringComparison.Ordinal);
        Assert.Contains("ALTER TABLE daily_resource_costs ALTER COLUMN unblended TYPE numeric(28,12)", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_applies_migrations_to_a_new_sqlite_file_and_enables_wal()
    {
        var directory = Path.Combine(Path.GetTempPath(), "curworkflows-tests", Guid.NewGuid().ToString("N"));
        var file = Path.Combine(directory, "nested", "curworkflows.db");
        var connectionString = $"Data Source={file}";
        try
        {
            using (var host = BuildHost(new() { ["ConnectionStrings:CurWorkflows"] = connectionString, ["Storage:StagingSweepInterval"] = "00:00:00" }))
            {
                await host.StartAsync();
                await host.StopAsync();
            }

            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            var tables = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            Assert.Subset(tables.ToHashSet(), Tables.ToHashSet());
            command.CommandText = "PRAGMA journal_mode";
            Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        }
        finally
        {
            SqlitePool.Clear(connectionString);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Host_start_without_migration_leaves_the_database_alone()
    {
        var directory = Path.Combine(Path.GetTempPath(), "curworkflows-tests", Guid.NewGuid().ToString("N"));
        var file = Path.Combine(directory, "curworkflows.db");
        using (var host = BuildHost(new()
        {
            ["ConnectionStrings:CurWorkflows"] = $"Data Source={file}",
            ["Storage:ApplyMigrationsOnStartup"] = "false",
            ["Storage:StagingSweepInterval"] = "00:00:00",
        }))
        {
            await host.StartAsync();
            await host.StopAsync();
        }

        Assert.False(File.Exists(file));
    }

    [Theory]
    [InlineData("ConnectionStrings:CurWorkflows", "Host=127.0.0.1;Bogus Keyword=1", "not a valid Sqlite connection string")]
    [InlineData("Storage:StagingBatchSize", "0", "Storage:StagingBatchSize")]
    [InlineData("Storage:StagingRetention", "-01:00:00", "Storage:StagingRetention")]
    [InlineData("Storage:SqliteCheckpointInterval", "-00:00:01", "Storage:SqliteCheckpointInterval")]
    [InlineData("Storage:SqliteWalSizeLimitBytes", "-2", "Storage:SqliteWalSizeLimitBytes")]
    public async Task Invalid_configuration_fails_at_start_naming_the_key(string key, string value, string expected)
    {
        using var host = BuildHost(new() { [key] = value, ["Storage:ApplyMigrationsOnStartup"] = "false" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_configuration_is_sqlite_on_curworkflows_db()
    {
        using var host = BuildHost([]);

        var options = host.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        using var context = host.Services.GetRequiredService<IDbContextFactory<CurWorkflowsDbContext>>().CreateDbContext();

        Assert.Equal((StorageProvider.Sqlite, "Data Source=curworkflows.db", true), (options.Provider, options.ConnectionString, options.ApplyMigrationsOnStartup));
        Assert.IsType<SqliteCurWorkflowsDbContext>(context);
    }

    [Fact]
    public void Provider_setting_selects_the_provider_context()
    {
        using var host = BuildHost(new()
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:CurWorkflows"] = "Host=127.0.0.1;Database=x",
        });

        using var context = host.Services.GetRequiredService<IDbContextFactory<CurWorkflowsDbContext>>().CreateDbContext();

        Assert.IsType<PostgreSqlCurWorkflowsDbContext>(context);
        Assert.Equal("Npgsql.EntityFrameworkCore.PostgreSQL", context.Database.ProviderName);
    }

    private static IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddCurStorage(builder.Configuration);
        return builder.Build();
    }

    // Everything reads, writes and the hand-written SQL depend on: tables, columns and their store types, keys and
    // indexes, and each property's CLR type, converter and column.
    private static string[] Describe(IModel model) =>
    [
        .. model.GetRelationalModel().Tables.OrderBy(t => t.Name, StringComparer.Ordinal).SelectMany(t => new[] { $"table {t.Name}" }
            .Concat(t.Columns.Select(c => $"  column {c.Name} {c.StoreType} nullable={c.IsNullable}"))
            .Concat(t.UniqueConstraints.Select(k => $"  key {k.Name} ({string.Join(", ", k.Columns.Select(c => c.Name))}) primary={k.GetIsPrimaryKey()}"))
            .Concat(t.Indexes.Select(i => $"  index {i.Name} ({string.Join(", ", i.Columns.Select(c => c.Name))}) unique={i.IsUnique} filter={i.Filter}"))
            .Concat(t.ForeignKeyConstraints.Select(f => $"  foreign key {f.Name} -> {f.PrincipalTable.Name} on delete {f.OnDeleteAction}"))),
        .. model.GetEntityTypes().OrderBy(e => e.Name, StringComparer.Ordinal).SelectMany(e => new[] { $"entity {e.Name}" }
            .Concat(e.GetProperties().Select(p =>
                $"  {p.Name}: {p.ClrType.Name} column={p.GetColumnName()} nullable={p.IsNullable} max={p.GetMaxLength()} " +
                $"precision={p.GetPrecision()} scale={p.GetScale()} converter={p.GetTypeMapping().Converter?.GetType().Name} " +
                $"generated={p.ValueGenerated} concurrency={p.IsConcurrencyToken}"))
            .Concat(e.GetNavigations().Select(n => $"  navigation {n.Name} -> {n.TargetEntityType.Name}"))),
    ];

    private static CurWorkflowsDbContext ContextFor(StorageProvider provider) =>
        new CurWorkflowsDbContextFactory(new StorageOptions
        {
            Provider = provider,
            ConnectionString = provider switch
            {
                StorageProvider.Sqlite => "Data Source=:memory:",
                StorageProvider.PostgreSql => "Host=127.0.0.1;Database=unused",
                _ => "Server=127.0.0.1;Database=unused;TrustServerCertificate=True",
            },
        }).CreateDbContext();
}
