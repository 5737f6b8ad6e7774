using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
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
        "daily_resource_costs", "monthly_package_costs", "staging_daily_package_costs", "staging_daily_resource_costs",
        "staging_monthly_package_costs",
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

        Assert.Contains("[unblended] decimal(28,10) NOT NULL", script, StringComparison.Ordinal);
        Assert.Contains("CREATE UNIQUE INDEX [IX_integrations_organization_id_bucket_name_role_arn]", script, StringComparison.Ordinal);
        Assert.Contains("CREATE INDEX [IX_daily_resource_costs_organization_id_package_usage_date]", script, StringComparison.Ordinal);
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
    }

    [Fact]
    public async Task Host_start_applies_migrations_to_a_new_sqlite_file_and_enables_wal()
    {
        var directory = Path.Combine(Path.GetTempPath(), "curworkflows-tests", Guid.NewGuid().ToString("N"));
        var file = Path.Combine(directory, "nested", "curworkflows.db");
        try
        {
            using (var host = BuildHost(new() { ["ConnectionStrings:CurWorkflows"] = $"Data Source={file}", ["Storage:StagingSweepInterval"] = "00:00:00" }))
            {
                await host.StartAsync();
                await host.StopAsync();
            }

            await using var connection = new SqliteConnection($"Data Source={file}");
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
            SqliteConnection.ClearAllPools();
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
