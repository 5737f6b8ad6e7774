using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Service.Costs;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Service.Tests.Infrastructure;
using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Entities;
using CurWorkflows.Storage.Stores;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Tests;

/// <summary>
/// The service in the API role (no Temporal needed for cost reads) on one database, with a short API key cache
/// lifetime. Cost data is written the way collection runs write it: staged, then swapped in per billing period.
/// </summary>
public abstract class CostCacheFixture : IAsyncLifetime
{
    public const string AdminKey = "cache-tests-admin-key-0123456789";
    public const int ApiKeyCacheSeconds = 3;

    private ServiceTestDatabase? database;

    public ServiceTestHost Host { get; private set; } = null!;

    protected abstract string Provider { get; }

    public virtual bool Available => true;

    public async Task InitializeAsync()
    {
        if (!Available)
        {
            return;
        }

        var workDirectory = TestEnvironment.NewTempDirectory("cache-" + Provider.ToLowerInvariant());
        database = ServiceTestDatabase.Create(Provider, workDirectory, "cache");

        Host = await ServiceTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Host:Role"] = "Api",
            ["Temporal:Address"] = $"127.0.0.1:{Workflows.Hosting.EmbeddedTemporalServer.FreeLoopbackPort()}",
            ["Api:AdminKey"] = AdminKey,
            ["Api:CreateBootstrapKey"] = "false",
            ["Api:ApiKeyCacheSeconds"] = ApiKeyCacheSeconds.ToString(CultureInfo.InvariantCulture),
            // Exactness first: the version is read on every request here; the bounded reuse has its own scenario.
            ["Api:CostDataVersionMaxAgeMilliseconds"] = "0",
            ["Storage:Provider"] = Provider,
            ["ConnectionStrings:CurWorkflows"] = database.ConnectionString,
        }, workDirectory);
    }

    public async Task DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (database is not null)
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>A new organization with an API key and one integration.</summary>
    public async Task<Tenant> NewTenantAsync(string name)
    {
        var organizations = Host.GetRequiredService<OrganizationStore>();
        var organization = await organizations.CreateOrganizationAsync(name + "-" + Guid.NewGuid().ToString("N")[..6]);
        var key = await organizations.CreateApiKeyAsync(organization.Id, "tests");
        var account = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999);
        var integration = (await Host.GetRequiredService<IntegrationStore>().EnableAsync(new EnableIntegrationRequest(
            organization.Id, $"arn:aws:iam::{account}:role/reader", "external-id-for-tests", $"massdriver-costs-{account}"))).Integration;
        return new Tenant(organization.Id, integration.Id, key.Secret, key.KeyId);
    }

    /// <summary>Replaces the integration's billing period with a new assembly of the given packages' daily costs.</summary>
    public async Task ReplaceAsync(Tenant tenant, DateOnly month, decimal dailyAmount, params string[] packages)
    {
        var runs = Host.GetRequiredService<CollectionRunStore>();
        var writer = Host.GetRequiredService<CostWriter>();
        var assembly = Guid.NewGuid().ToString("N");
        var run = await runs.StartAsync(new StartCollectionRunRequest(tenant.IntegrationId, "cur-collection-" + assembly, "tests", DateTimeOffset.UtcNow));
        var daily = new List<DailyPackageCost>();
        var resources = new List<DailyResourceCost>();
        var monthly = new List<MonthlyPackageCost>();
        foreach (var (package, index) in packages.Select((p, i) => (p, i)))
        {
            var total = CostAmounts.Zero;
            for (var day = month; day < month.AddMonths(1); day = day.AddDays(1))
            {
                var unblended = dailyAmount + index + (day.Day / 1000m);
                var cost = new CostAmounts(unblended, unblended * 0.9m, unblended * 1.1m);
                daily.Add(new DailyPackageCost(day, package, "AmazonEC2", "USD", cost));
                resources.Add(new DailyResourceCost(day, package, $"i-{index:D4}", "AmazonEC2", "USD", cost));
                total += cost;
            }

            monthly.Add(new MonthlyPackageCost(month, package, "USD", total));
        }

        await writer.StageAsync(new StagingKey(run.Id, tenant.IntegrationId, month), new CostAggregateBatch(daily, resources, monthly));
        await writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(run.Id, tenant.IntegrationId, month, assembly, "etag-" + assembly, false));
        await runs.CompleteAsync(new CompleteCollectionRunRequest(run.Id, CollectionRunOutcome.Succeeded, DateTimeOffset.UtcNow));
    }
}

public sealed record Tenant(Guid OrganizationId, Guid IntegrationId, string ApiKey, string KeyId);

public sealed class SqliteCostCacheFixture : CostCacheFixture
{
    protected override string Provider => "Sqlite";
}

public sealed class PostgresCostCacheFixture : CostCacheFixture
{
    protected override string Provider => "PostgreSql";

    public override bool Available => TestEnvironment.PostgresConnectionString is not null;
}

/// <summary>The cost answer cache and the API key cache, run against each provider.</summary>
public static class CostCacheScenarios
{
    private static readonly DateOnly January = new(2026, 1, 1);

    private static string MonthRange(DateOnly month) => $"from={Date(month)}&to={Date(month.AddMonths(1).AddDays(-1))}";

    public static async Task A_replaced_billing_period_or_a_deletion_changes_the_next_answer(CostCacheFixture fixture)
    {
        var tenant = await fixture.NewTenantAsync("replace");
        await fixture.ReplaceAsync(tenant, January, 10m, "web", "db");
        using var client = fixture.Host.CreateClient(tenant.ApiKey);
        var path = $"/api/v1/costs?{MonthRange(January)}";

        var first = await GetAsync(client, path);
        var again = await GetAsync(client, path);
        Assert.Equal(first.Body, again.Body);
        Assert.Equal(first.ETag, again.ETag);
        var before = Unblended(first.Body);
        Assert.Equal(Expected(10m, 2, January), before);

        // A new assembly of the same billing period (another collection run): the next answer has its figures.
        await fixture.ReplaceAsync(tenant, January, 20m, "web", "db", "cache");
        var replaced = await GetAsync(client, path);
        Assert.Equal(Expected(20m, 3, January), Unblended(replaced.Body));
        Assert.NotEqual(first.ETag, replaced.ETag);
        Assert.Contains("\"package\":\"cache\"", replaced.Body, StringComparison.Ordinal);

        // Monthly and CSV answers of the same data follow too.
        var csv = await GetAsync(client, path + "&format=csv");
        Assert.Equal(Expected(20m, 3, January), csv.Body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Sum(l => decimal.Parse(l.Split(',')[3], CultureInfo.InvariantCulture)));
        // The monthly answer of the range whose daily answer is cached is its own: one row per package, on the 1st.
        var monthly = JsonDocument.Parse((await GetAsync(client, path + "&granularity=monthly")).Body).RootElement;
        Assert.Equal("monthly", monthly.GetProperty("granularity").GetString());
        Assert.Equal(Expected(20m, 3, January), Sum(monthly.GetProperty("totals")));
        Assert.Equal(
            [(Date(January), "cache"), (Date(January), "db"), (Date(January), "web")],
            monthly.GetProperty("rows").EnumerateArray().Select(r => (r.GetProperty("period").GetString(), r.GetProperty("package").GetString())).OrderBy(r => r.Item2, StringComparer.Ordinal));
        var monthlyCsv = await GetAsync(client, path + "&granularity=monthly&format=csv");
        Assert.StartsWith("month,package,", monthlyCsv.Body, StringComparison.Ordinal);
        Assert.Equal(4, monthlyCsv.Body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);

        // Explicit deletion of the integration's cost data: the next answer is empty.
        Assert.True(await fixture.Host.GetRequiredService<IntegrationStore>().DeleteCostDataAsync(tenant.OrganizationId, tenant.IntegrationId));
        var deleted = await GetAsync(client, path);
        Assert.Equal(0, JsonDocument.Parse(deleted.Body).RootElement.GetProperty("rows").GetArrayLength());
        Assert.Equal(0m, Unblended(deleted.Body));
    }

    public static async Task Another_organization_never_gets_the_cached_answer_of_another(CostCacheFixture fixture)
    {
        var a = await fixture.NewTenantAsync("org-a");
        var b = await fixture.NewTenantAsync("org-b");
        await fixture.ReplaceAsync(a, January, 7m, "shared-name");
        await fixture.ReplaceAsync(b, January, 3m, "shared-name", "only-b");
        using var clientA = fixture.Host.CreateClient(a.ApiKey);
        using var clientB = fixture.Host.CreateClient(b.ApiKey);
        var cache = fixture.Host.GetRequiredService<CostAnswerCache>();

        // The same URL for both, each asked twice: every answer is its own organization's, from memory the second time.
        foreach (var path in new[] { $"/api/v1/costs?{MonthRange(January)}", $"/api/v1/costs?granularity=monthly&{MonthRange(January)}&package=shared-name" })
        {
            var fromA = await GetAsync(clientA, path);
            var fromB = await GetAsync(clientB, path);
            var countAfterBoth = cache.Count;
            Assert.Equal(fromA.Body, (await GetAsync(clientA, path)).Body);
            Assert.Equal(fromB.Body, (await GetAsync(clientB, path)).Body);
            Assert.Equal(countAfterBoth, cache.Count);
            Assert.Equal(Expected(7m, 1, January), Unblended(fromA.Body));
            Assert.Equal(Expected(3m, 2, January), Unblended(fromB.Body));
            Assert.NotEqual(fromA.Body, fromB.Body);
        }

        // A's integration asked with B's key is not B's: 404, never A's cached answer.
        using var foreign = await clientB.GetAsync(new Uri($"/api/v1/costs?{MonthRange(January)}&integration_id={a.IntegrationId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
    }

    public static async Task A_matching_ETag_is_answered_304_until_the_data_changes(CostCacheFixture fixture)
    {
        var tenant = await fixture.NewTenantAsync("etag");
        await fixture.ReplaceAsync(tenant, January, 5m, "api");
        using var client = fixture.Host.CreateClient(tenant.ApiKey);
        var path = $"/api/v1/costs/resources?package=api&{MonthRange(January)}";

        var first = await GetAsync(client, path);
        Assert.Equal("no-cache, private", first.CacheControl);
        Assert.StartsWith("\"", first.ETag, StringComparison.Ordinal);

        var notModified = await GetAsync(client, path, first.ETag);
        Assert.Equal(HttpStatusCode.NotModified, notModified.Status);
        Assert.Equal("", notModified.Body);
        Assert.Equal(first.ETag, notModified.ETag);
        Assert.Equal(HttpStatusCode.NotModified, (await GetAsync(client, path, $"\"other\", W/{first.ETag}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, path, "\"other\"")).Status);

        // The CSV of the same query is another representation: another ETag.
        var csv = await GetAsync(client, path + "&format=csv");
        Assert.NotEqual(first.ETag, csv.ETag);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, path + "&format=csv", first.ETag)).Status);

        await fixture.ReplaceAsync(tenant, January, 6m, "api");
        var changed = await GetAsync(client, path, first.ETag);
        Assert.Equal(HttpStatusCode.OK, changed.Status);
        Assert.NotEqual(first.ETag, changed.ETag);
        Assert.Equal(Expected(6m, 1, January), Unblended(changed.Body));
    }

    public static async Task Concurrent_requests_of_a_new_answer_all_get_it(CostCacheFixture fixture)
    {
        var tenant = await fixture.NewTenantAsync("flight");
        await fixture.ReplaceAsync(tenant, January, 9m, "batch", "web", "db");
        using var client = fixture.Host.CreateClient(tenant.ApiKey);
        var path = $"/api/v1/costs?from={Date(January)}&to={Date(January.AddDays(20))}&granularity=monthly";

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => GetAsync(client, path)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.All(answers, a => Assert.Equal(answers[0].Body, a.Body));
        Assert.Equal(Expected(9m, 3, January), Unblended(answers[0].Body));
    }

    public static async Task Filtered_totals_from_whole_and_partial_months_equal_the_unfiltered_totals(CostCacheFixture fixture)
    {
        var tenant = await fixture.NewTenantAsync("totals");
        foreach (var month in new[] { January, January.AddMonths(1), January.AddMonths(2), January.AddMonths(3) })
        {
            await fixture.ReplaceAsync(tenant, month, month.Month, "web", "db", "");
        }

        using var client = fixture.Host.CreateClient(tenant.ApiKey);
        // Mid-January to mid-April: two partial months around two whole ones; and exactly whole months.
        foreach (var range in new[] { $"from=2026-01-10&to=2026-04-20", "from=2026-02-01&to=2026-03-31", "from=2026-02-03&to=2026-02-25" })
        {
            var all = JsonDocument.Parse((await GetAsync(client, $"/api/v1/costs?{range}")).Body).RootElement;
            var filtered = JsonDocument.Parse((await GetAsync(client, $"/api/v1/costs?{range}&package=web")).Body).RootElement;
            foreach (var part in new[] { "totals", "untagged" })
            {
                foreach (var amount in new[] { "unblended", "net_unblended", "amortized" })
                {
                    Assert.Equal(Sum(all.GetProperty(part), amount), Sum(filtered.GetProperty(part), amount));
                }
            }

            Assert.True(Sum(all.GetProperty("untagged")) > 0);
            Assert.All(filtered.GetProperty("rows").EnumerateArray(), r => Assert.Equal("web", r.GetProperty("package").GetString()));
        }
    }

    public static async Task A_reused_cost_data_version_is_read_again_after_its_maximum_age(CostCacheFixture fixture)
    {
        var tenant = await fixture.NewTenantAsync("version");
        await fixture.ReplaceAsync(tenant, January, 1m, "web");
        var maxAge = TimeSpan.FromMilliseconds(1500);
        var versions = new CostDataVersionCache(
            fixture.Host.GetRequiredService<CostDataVersions>(),
            Options.Create(new ApiOptions { CostDataVersionMaxAgeMilliseconds = (int)maxAge.TotalMilliseconds }),
            TimeProvider.System);

        var started = DateTime.UtcNow;
        var first = await versions.GetAsync(tenant.OrganizationId, CancellationToken.None);
        Assert.Equal(1, first.BillingPeriods);
        await fixture.ReplaceAsync(tenant, January.AddMonths(1), 1m, "web");
        var reused = await versions.GetAsync(tenant.OrganizationId, CancellationToken.None);
        if (DateTime.UtcNow - started < maxAge)
        {
            Assert.Equal(first, reused);
        }

        await Task.Delay(maxAge + TimeSpan.FromMilliseconds(100));
        var fresh = await versions.GetAsync(tenant.OrganizationId, CancellationToken.None);
        Assert.Equal(2, fresh.BillingPeriods);
        Assert.True(fresh.LastIngestedAt > first.LastIngestedAt);

        // A replace of an existing period keeps the count but moves the last ingestion time; a deletion lowers the count.
        await fixture.ReplaceAsync(tenant, January, 2m, "web");
        var replaced = await fixture.Host.GetRequiredService<CostDataVersions>().GetAsync(tenant.OrganizationId);
        Assert.Equal(2, replaced.BillingPeriods);
        Assert.True(replaced.LastIngestedAt > fresh.LastIngestedAt);
        await fixture.Host.GetRequiredService<IntegrationStore>().DeleteCostDataAsync(tenant.OrganizationId, tenant.IntegrationId);
        Assert.Equal(CostDataVersion.Empty, await fixture.Host.GetRequiredService<CostDataVersions>().GetAsync(tenant.OrganizationId));
    }

    public static async Task A_key_revoked_by_another_process_stops_working_within_the_cache_lifetime(CostCacheFixture fixture)
    {
        var tenant = await fixture.NewTenantAsync("revoke");
        using var client = fixture.Host.CreateClient(tenant.ApiKey);
        var firstUse = DateTime.UtcNow;
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/api/v1/integrations")).Status);

        // Revoked in the database directly, as another API process would: this process trusts the key for at most the lifetime.
        Assert.True(await fixture.Host.GetRequiredService<OrganizationStore>().RevokeApiKeyAsync(tenant.OrganizationId, tenant.KeyId));
        var stillCached = await GetAsync(client, "/api/v1/integrations");
        if (DateTime.UtcNow - firstUse < TimeSpan.FromSeconds(CostCacheFixture.ApiKeyCacheSeconds))
        {
            Assert.Equal(HttpStatusCode.OK, stillCached.Status);
        }

        await Task.Delay(TimeSpan.FromSeconds(CostCacheFixture.ApiKeyCacheSeconds) + TimeSpan.FromMilliseconds(200));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(client, "/api/v1/integrations")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(client, $"/api/v1/costs?{MonthRange(January)}")).Status);
    }

    public static async Task A_key_revoked_through_the_admin_API_of_this_process_stops_at_once(CostCacheFixture fixture)
    {
        var tenant = await fixture.NewTenantAsync("revoke-admin");
        using var client = fixture.Host.CreateClient(tenant.ApiKey);
        using var admin = fixture.Host.CreateClient(CostCacheFixture.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/api/v1/integrations")).Status);
        using var revoked = await admin.DeleteAsync(new Uri($"/api/v1/admin/organizations/{tenant.OrganizationId}/api-keys/{tenant.KeyId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(client, "/api/v1/integrations")).Status);
    }

    private static decimal Expected(decimal dailyAmount, int packages, DateOnly month)
    {
        var total = 0m;
        for (var index = 0; index < packages; index++)
        {
            for (var day = month; day < month.AddMonths(1); day = day.AddDays(1))
            {
                total += dailyAmount + index + (day.Day / 1000m);
            }
        }

        return total;
    }

    private static decimal Unblended(string json) => Sum(JsonDocument.Parse(json).RootElement.GetProperty("totals"));

    private static decimal Sum(JsonElement amounts, string amount = "unblended") => amounts.EnumerateArray().Sum(t => t.GetProperty(amount).Amount());

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private sealed record CachedAnswer(HttpStatusCode Status, string Body, string? ETag, string? CacheControl);

    private static async Task<CachedAnswer> GetAsync(HttpClient client, string path, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        using var response = await client.SendAsync(request);
        return new CachedAnswer(
            response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.ETag?.ToString(), response.Headers.CacheControl?.ToString());
    }
}

public sealed class SqliteCostCacheTests(SqliteCostCacheFixture fixture) : IClassFixture<SqliteCostCacheFixture>
{
    [Fact]
    public Task A_replaced_billing_period_or_a_deletion_changes_the_next_answer() => CostCacheScenarios.A_replaced_billing_period_or_a_deletion_changes_the_next_answer(fixture);

    [Fact]
    public Task Another_organization_never_gets_the_cached_answer_of_another() => CostCacheScenarios.Another_organization_never_gets_the_cached_answer_of_another(fixture);

    [Fact]
    public Task A_matching_ETag_is_answered_304_until_the_data_changes() => CostCacheScenarios.A_matching_ETag_is_answered_304_until_the_data_changes(fixture);

    [Fact]
    public Task Concurrent_requests_of_a_new_answer_all_get_it() => CostCacheScenarios.Concurrent_requests_of_a_new_answer_all_get_it(fixture);

    [Fact]
    public Task Filtered_totals_from_whole_and_partial_months_equal_the_unfiltered_totals() =>
        CostCacheScenarios.Filtered_totals_from_whole_and_partial_months_equal_the_unfiltered_totals(fixture);

    [Fact]
    public Task A_reused_cost_data_version_is_read_again_after_its_maximum_age() =>
        CostCacheScenarios.A_reused_cost_data_version_is_read_again_after_its_maximum_age(fixture);

    [Fact]
    public Task A_key_revoked_by_another_process_stops_working_within_the_cache_lifetime() =>
        CostCacheScenarios.A_key_revoked_by_another_process_stops_working_within_the_cache_lifetime(fixture);

    [Fact]
    public Task A_key_revoked_through_the_admin_API_of_this_process_stops_at_once() =>
        CostCacheScenarios.A_key_revoked_through_the_admin_API_of_this_process_stops_at_once(fixture);
}

public sealed class PostgresCostCacheTests(PostgresCostCacheFixture fixture) : IClassFixture<PostgresCostCacheFixture>
{
    [PostgresFact]
    public Task A_replaced_billing_period_or_a_deletion_changes_the_next_answer() => CostCacheScenarios.A_replaced_billing_period_or_a_deletion_changes_the_next_answer(fixture);

    [PostgresFact]
    public Task Another_organization_never_gets_the_cached_answer_of_another() => CostCacheScenarios.Another_organization_never_gets_the_cached_answer_of_another(fixture);

    [PostgresFact]
    public Task A_matching_ETag_is_answered_304_until_the_data_changes() => CostCacheScenarios.A_matching_ETag_is_answered_304_until_the_data_changes(fixture);

    [PostgresFact]
    public Task Concurrent_requests_of_a_new_answer_all_get_it() => CostCacheScenarios.Concurrent_requests_of_a_new_answer_all_get_it(fixture);

    [PostgresFact]
    public Task Filtered_totals_from_whole_and_partial_months_equal_the_unfiltered_totals() =>
        CostCacheScenarios.Filtered_totals_from_whole_and_partial_months_equal_the_unfiltered_totals(fixture);

    [PostgresFact]
    public Task A_reused_cost_data_version_is_read_again_after_its_maximum_age() =>
        CostCacheScenarios.A_reused_cost_data_version_is_read_again_after_its_maximum_age(fixture);

    [PostgresFact]
    public Task A_key_revoked_by_another_process_stops_working_within_the_cache_lifetime() =>
        CostCacheScenarios.A_key_revoked_by_another_process_stops_working_within_the_cache_lifetime(fixture);

    [PostgresFact]
    public Task A_key_revoked_through_the_admin_API_of_this_process_stops_at_once() =>
        CostCacheScenarios.A_key_revoked_through_the_admin_API_of_this_process_stops_at_once(fixture);
}

/// <summary>The bound of <see cref="CostAnswerCache"/> (pure in-memory behaviour: no server needed).</summary>
public sealed class CostAnswerCacheTests
{
    private static readonly CostDataVersion Version = new(3, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task The_cache_stays_within_its_size_limit_evicting_the_least_recently_used()
    {
        var cache = new CostAnswerCache(Options.Create(new ApiOptions { CostCacheMegabytes = 1 }));
        var body = new byte[100_000];
        for (var i = 0; i < 30; i++)
        {
            await cache.GetOrComputeAsync($"key-{i}", Version, _ => Task.FromResult(CostAnswer.Create(body, "application/json")), CancellationToken.None);
            if (i > 0)
            {
                // key-0 stays the most recently used one.
                await cache.GetOrComputeAsync("key-0", Version, _ => throw new InvalidOperationException("key-0 was evicted"), CancellationToken.None);
            }

            Assert.InRange(cache.Bytes, 1, cache.MaxBytes);
        }

        Assert.InRange(cache.Count, 2, 10);
        var computed = false;
        await cache.GetOrComputeAsync("key-1", Version, _ =>
        {
            computed = true;
            return Task.FromResult(CostAnswer.Create(body, "application/json"));
        }, CancellationToken.None);
        Assert.True(computed, "the oldest answer should have been evicted");
    }

    [Fact]
    public async Task Concurrent_misses_of_one_key_and_version_compute_once()
    {
        var cache = new CostAnswerCache(Options.Create(new ApiOptions()));
        var release = new TaskCompletionSource<CostAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var computations = 0;
        var waiters = Enumerable.Range(0, 50).Select(_ => Task.Run(() => cache.GetOrComputeAsync("k", Version, _ =>
        {
            Interlocked.Increment(ref computations);
            return release.Task;
        }, CancellationToken.None))).ToList();
        await Task.Delay(200);
        release.SetResult(CostAnswer.Create([1, 2, 3], "application/json"));
        var answers = await Task.WhenAll(waiters);

        Assert.Equal(1, computations);
        Assert.All(answers, a => Assert.Same(answers[0], a));
    }

    [Fact]
    public async Task An_answer_of_another_version_is_computed_again_and_a_too_large_one_is_not_kept()
    {
        var cache = new CostAnswerCache(Options.Create(new ApiOptions { CostCacheMegabytes = 1 }));
        var computations = 0;
        Task<CostAnswer> Compute(int size)
        {
            computations++;
            return Task.FromResult(CostAnswer.Create(new byte[size], "text/csv"));
        }

        await cache.GetOrComputeAsync("k", Version, _ => Compute(10), CancellationToken.None);
        await cache.GetOrComputeAsync("k", Version, _ => Compute(10), CancellationToken.None);
        Assert.Equal(1, computations);
        await cache.GetOrComputeAsync("k", Version with { BillingPeriods = 2 }, _ => Compute(10), CancellationToken.None);
        Assert.Equal(2, computations);

        await cache.GetOrComputeAsync("big", Version, _ => Compute(400_000), CancellationToken.None);
        await cache.GetOrComputeAsync("big", Version, _ => Compute(400_000), CancellationToken.None);
        Assert.Equal(4, computations);
        Assert.Equal(1, cache.Count);
    }
}
