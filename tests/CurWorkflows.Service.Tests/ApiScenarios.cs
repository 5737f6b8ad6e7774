using System.Globalization;
using System.Net;
using System.Text.Json;
using CurWorkflows.Service.Tests.Infrastructure;

namespace CurWorkflows.Service.Tests;

/// <summary>The API's behaviour, run against each database provider by <see cref="SqliteApiTests"/> and <see cref="PostgresApiTests"/>.</summary>
public static class ApiScenarios
{
    public static async Task Requests_without_a_valid_key_are_401(ServiceFixture fixture)
    {
        using var anonymous = fixture.Host.CreateClient();
        using var wrong = fixture.Host.CreateClient("cwk_0123456789abcdef_notthesecret");
        using var garbage = fixture.Host.CreateClient("not-a-key");
        using var admin = fixture.Host.CreateClient(ServiceFixture.AdminKey);
        foreach (var client in new[] { anonymous, wrong, garbage, admin })
        {
            foreach (var (method, path) in new[] { (HttpMethod.Get, "/api/v1/integrations"), (HttpMethod.Get, "/api/v1/costs"), (HttpMethod.Post, "/api/v1/integrations") })
            {
                var answer = await Http.SendAsync(client, method, path, method == HttpMethod.Post ? "{}" : null);
                Assert.True(answer.Status == HttpStatusCode.Unauthorized, $"{method} {path}: {answer}");
                Assert.Equal("application/problem+json", answer.ContentType);
                Assert.Equal("unauthorized", answer.Json.GetProperty("error").GetString());
            }
        }

        // Organization keys do not open the admin API, and a revoked key stops working.
        using var orgA = fixture.ClientA();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.PostAsync(orgA, "/api/v1/admin/organizations", new { name = "x" })).Status);

        // The admin key is checked before the body is read: an anonymous body that is malformed, or not JSON, is 401 too.
        var malformed = await Http.SendAsync(anonymous, HttpMethod.Post, "/api/v1/admin/organizations", "{\"name\":");
        Assert.True(malformed.Status == HttpStatusCode.Unauthorized, malformed.ToString());
        using (var notJson = await anonymous.PostAsync(new Uri("/api/v1/admin/organizations", UriKind.Relative), new StringContent("name", System.Text.Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, notJson.StatusCode);
        }

        using var creating = await admin.PostAsync(
            new Uri($"/api/v1/admin/organizations/{fixture.OrganizationAId}/api-keys", UriKind.Relative),
            new StringContent("""{"name":"short-lived"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, creating.StatusCode);
        // The only answer that holds the key is kept by no cache.
        Assert.True(creating.Headers.CacheControl?.NoStore, creating.Headers.ToString());
        var created = new Answer(creating.StatusCode, creating.Content.Headers.ContentType?.MediaType, await creating.Content.ReadAsStringAsync());
        using var shortLived = fixture.Host.CreateClient(created.Json.GetProperty("api_key").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(shortLived, "/api/v1/integrations")).Status);
        var keyId = created.Json.GetProperty("key_id").GetString();
        Assert.Equal(HttpStatusCode.NoContent,
            (await Http.SendAsync(admin, HttpMethod.Delete, $"/api/v1/admin/organizations/{fixture.OrganizationAId}/api-keys/{keyId}")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync(shortLived, "/api/v1/integrations")).Status);
    }

    public static async Task The_admin_API_lists_organizations_by_name_so_a_lost_key_can_be_replaced(ServiceFixture fixture)
    {
        var name = $"lost-its-key-{Guid.NewGuid():N}";
        var (id, _) = await fixture.CreateOrganizationAsync(name);
        using var admin = fixture.Host.CreateClient(ServiceFixture.AdminKey);

        var all = (await Http.GetAsync(admin, "/api/v1/admin/organizations")).Json.GetProperty("organizations").EnumerateArray()
            .Select(o => o.GetProperty("id").GetGuid()).ToList();
        Assert.Contains(fixture.OrganizationAId, all);
        Assert.Contains(id, all);
        var named = await Http.GetAsync(admin, $"/api/v1/admin/organizations?name={name}");
        Assert.True(named.Status == HttpStatusCode.OK, named.ToString());
        var found = Assert.Single(named.Json.GetProperty("organizations").EnumerateArray());
        Assert.Equal(id, found.GetProperty("id").GetGuid());
        Assert.Equal(name, found.GetProperty("name").GetString());

        // With the id, a new key for that organization works.
        var key = await Http.PostAsync(admin, $"/api/v1/admin/organizations/{id}/api-keys", new Dictionary<string, object?> { ["name"] = "replacement" });
        Assert.True(key.Status == HttpStatusCode.Created, key.ToString());
        using var replaced = fixture.Host.CreateClient(key.Json.GetProperty("api_key").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(replaced, "/api/v1/integrations")).Status);

        // Nobody else lists them.
        using var organization = fixture.ClientA();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync(organization, "/api/v1/admin/organizations")).Status);
        using var anonymous = fixture.Host.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync(anonymous, "/api/v1/admin/organizations")).Status);
    }

    public static async Task Malformed_enable_requests_are_400_naming_the_field_and_store_nothing(ServiceFixture fixture)
    {
        using var client = fixture.ClientB();
        var before = (await Http.GetAsync(client, "/api/v1/integrations")).Json.GetProperty("integrations").GetArrayLength();
        var secret = fixture.ExternalId;
        string Body(string arn = ServiceFixture.RoleArnB, string? externalId = null, string bucket = ServiceFixture.EmptyBucket, string extra = "") =>
            $$"""{"iam_role_arn":"{{arn}}","external_id":"{{externalId ?? secret}}","bucket_name":"{{bucket}}"{{extra}}}""";

        var cases = new (string Body, string Field)[]
        {
            ("{}", "iam_role_arn"),
            ($$"""{"external_id":"{{secret}}","bucket_name":"{{ServiceFixture.EmptyBucket}}"}""", "iam_role_arn"),
            (Body(arn: "arn:aws:iam::12345:role/reader"), "iam_role_arn"),
            (Body(arn: "arn:aws:iam::123456789012:user/reader"), "iam_role_arn"),
            (Body(arn: "arn:aws:s3:::bucket"), "iam_role_arn"),
            (Body(externalId: "a"), "external_id"),
            (Body(externalId: new string('x', 1225)), "external_id"),
            (Body(externalId: "has space " + secret), "external_id"),
            ($$"""{"iam_role_arn":"{{ServiceFixture.RoleArnB}}","bucket_name":"{{ServiceFixture.EmptyBucket}}"}""", "external_id"),
            (Body(bucket: "Upper_Case"), "bucket_name"),
            (Body(bucket: "ab"), "bucket_name"),
            (Body(bucket: "192.168.10.1"), "bucket_name"),
            (Body(bucket: "two..dots"), "bucket_name"),
            (Body(bucket: new string('b', 64)), "bucket_name"),
            (Body(extra: ""","report_prefix":"/leading"}"""[..^1]), "report_prefix"),
            (Body(extra: ""","report_name":"bad name" """.TrimEnd()), "report_name"),
            (Body(extra: ""","tag_key":"md-package" """.TrimEnd()), "tag_key"),
            ($$"""{"iam_role_arn":"{{ServiceFixture.RoleArnB}}","external_id":"{{secret}}","bucket_name":5}""", "bucket_name"),
            ($$"""{"iam_role_arn":["x"],"external_id":"{{secret}}","bucket_name":"{{ServiceFixture.EmptyBucket}}"}""", "iam_role_arn"),
            ("not json at all", "body"),
            ("[]", "body"),
            ("", "body"),
        };
        foreach (var (body, field) in cases)
        {
            var answer = await Http.SendAsync(client, HttpMethod.Post, "/api/v1/integrations", body);
            Assert.True(answer.Status == HttpStatusCode.BadRequest, $"{body[..Math.Min(body.Length, 120)]}: {answer}");
            Assert.Equal("application/problem+json", answer.ContentType);
            Assert.True(answer.Json.GetProperty("errors").TryGetProperty(field, out _), $"expected field {field}: {answer}");
            Assert.Equal("invalid_request", answer.Json.GetProperty("error").GetString());
            Assert.DoesNotContain(secret, answer.Body, StringComparison.Ordinal);
        }

        using (var plainText = new StringContent(Body(), System.Text.Encoding.UTF8, "text/plain"))
        using (var unsupported = await client.PostAsync(new Uri("/api/v1/integrations", UriKind.Relative), plainText))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, unsupported.StatusCode);
            Assert.Equal("application/problem+json", unsupported.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await unsupported.Content.ReadAsStringAsync());
            Assert.Equal("unsupported_media_type", problem.RootElement.GetProperty("error").GetString());
        }

        var tooLarge = Body(extra: $",\"report_name\":\"{new string('n', 70_000)}\"");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Http.SendAsync(client, HttpMethod.Post, "/api/v1/integrations", tooLarge)).Status);

        var after = (await Http.GetAsync(client, "/api/v1/integrations")).Json.GetProperty("integrations").GetArrayLength();
        Assert.Equal(before, after);
        Assert.DoesNotContain(secret, fixture.Host.Logs.All, StringComparison.Ordinal);
    }

    public static async Task Enable_again_without_the_optional_fields_keeps_what_was_stored(ServiceFixture fixture)
    {
        var (_, key) = await fixture.CreateOrganizationAsync("keeps-stored-fields");
        using var client = fixture.Host.CreateClient(key);
        var body = (Dictionary<string, object?>)fixture.EnableBody(ServiceFixture.EmptyBucket, roleArn: ServiceFixture.RoleArnKeeps);
        var custom = new Dictionary<string, object?>(body) { ["report_prefix"] = "legacy/reports", ["report_name"] = "legacy-costs" };

        var first = await Http.PostAsync(client, "/api/v1/integrations", custom);
        Assert.True(first.Status == HttpStatusCode.Created, first.ToString());
        // The product doc's three fields again (a re-enable after a disable, say): the integration keeps its report.
        var again = await Http.PostAsync(client, "/api/v1/integrations", body);

        Assert.True(again.Status == HttpStatusCode.OK, again.ToString());
        Assert.Equal(first.Json.GetProperty("id").GetGuid(), again.Json.GetProperty("id").GetGuid());
        Assert.Equal("legacy/reports", again.Json.GetProperty("report_prefix").GetString());
        Assert.Equal("legacy-costs", again.Json.GetProperty("report_name").GetString());
        var changed = await Http.PostAsync(client, "/api/v1/integrations", new Dictionary<string, object?>(body) { ["report_prefix"] = "" });
        Assert.Equal("", changed.Json.GetProperty("report_prefix").GetString());
        Assert.Equal("legacy-costs", changed.Json.GetProperty("report_name").GetString());
    }

    public static async Task Malformed_query_parameters_are_400_naming_the_parameter(ServiceFixture fixture)
    {
        using var client = fixture.ClientB();
        var cases = new (string Query, string Field)[]
        {
            ("from=2026-13-01&to=2026-12-31", "from"),
            ("from=2026-10-02&to=2026-10-01", "from"),
            // The ends of DateOnly: whole months around the range would overflow.
            ("from=9999-12-01&to=9999-12-31&package=web", "from"),
            ("from=2026-10-01&to=9999-12-31&granularity=monthly", "to"),
            ("to=0001-01-15&granularity=monthly", "to"),
        };
        var runs = $"/api/v1/integrations/{Guid.NewGuid()}/runs";
        var requests = cases.Select(c => ($"/api/v1/costs?{c.Query}", c.Field))
            .Concat([($"{runs}?limit=abc", "limit"), ($"{runs}?limit=1.5", "limit"), ($"{runs}?limit=0", "limit")]);
        foreach (var (path, field) in requests)
        {
            var answer = await Http.GetAsync(client, path);
            Assert.True(answer.Status == HttpStatusCode.BadRequest, $"{path}: {answer}");
            Assert.Equal("application/problem+json", answer.ContentType);
            Assert.True(answer.Json.GetProperty("errors").TryGetProperty(field, out _), $"expected parameter {field}: {answer}");
        }
    }

    public static async Task The_OpenAPI_document_describes_the_key_the_cost_queries_their_errors_and_decimal_amounts(ServiceFixture fixture)
    {
        using var client = fixture.ClientA();
        var answer = await Http.GetAsync(client, "/openapi/v1.json");
        Assert.True(answer.Status == HttpStatusCode.OK, answer.ToString());
        var document = answer.Json;

        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("api_key").GetProperty("scheme").GetString());
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/costs", "/api/v1/costs/resources" })
        {
            var get = paths.GetProperty(path).GetProperty("get");
            var parameters = get.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
            Assert.Equal(["from", "to", "granularity", "package", "integration_id", "format"], parameters);
            Assert.Contains("api_key", get.GetProperty("security")[0].EnumerateObject().Select(p => p.Name));
            var responses = get.GetProperty("responses");
            Assert.True(responses.GetProperty("400").GetProperty("content").TryGetProperty("application/problem+json", out _), path);
            Assert.True(responses.GetProperty("401").GetProperty("content").TryGetProperty("application/problem+json", out _), path);
            Assert.Equal("string", responses.GetProperty("200").GetProperty("content").GetProperty("text/csv").GetProperty("schema").GetProperty("type").GetString());
        }

        var enable = paths.GetProperty("/api/v1/integrations").GetProperty("post").GetProperty("responses");
        Assert.All(new[] { "400", "401", "422", "503" }, status => Assert.True(enable.TryGetProperty(status, out _), status));

        var schemas = document.GetProperty("components").GetProperty("schemas");
        var unblended = schemas.GetProperty("CostAmountsResponse").GetProperty("properties").GetProperty("unblended");
        Assert.Equal("string", unblended.GetProperty("type").GetString());
        Assert.Equal("decimal", unblended.GetProperty("format").GetString());
        // Fields left out when null are not required.
        var integrationRequired = schemas.GetProperty("IntegrationResponse").GetProperty("required").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Contains("id", integrationRequired);
        Assert.DoesNotContain("disabled_at", integrationRequired);
        Assert.DoesNotContain("warning", integrationRequired);
        Assert.Equal(["bucket_name", "external_id", "iam_role_arn"], schemas.GetProperty("EnableIntegrationRequest").GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order(StringComparer.Ordinal));
    }

    public static async Task Readiness_checks_the_database_Temporal_and_the_platforms_AWS_credentials(ServiceFixture fixture)
    {
        using var client = fixture.Host.CreateClient();
        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.Equal(["aws", "database", "temporal"], checks.EnumerateObject().Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.All(checks.EnumerateObject(), c => Assert.Equal("Healthy", c.Value.GetProperty("status").GetString()));
        Assert.Equal("The platform's own AWS credentials work.", checks.GetProperty("aws").GetProperty("description").GetString());
    }

    public static async Task Enable_with_a_wrong_external_id_or_a_missing_bucket_is_422_with_the_cause(ServiceFixture fixture)
    {
        using var client = fixture.ClientB();
        var before = (await Http.GetAsync(client, "/api/v1/integrations")).Json.GetProperty("integrations").GetArrayLength();

        var wrongId = "Wrong-" + Guid.NewGuid().ToString("N");
        var denied = await Http.PostAsync(client, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.ReportBucket, wrongId, ServiceFixture.RoleArnB));
        Assert.True(denied.Status == HttpStatusCode.UnprocessableEntity, denied.ToString());
        Assert.Equal("application/problem+json", denied.ContentType);
        Assert.Equal("access_denied", denied.Json.GetProperty("error").GetString());
        Assert.Contains("trust policy", denied.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrongId, denied.Body, StringComparison.Ordinal);

        var missing = await Http.PostAsync(client, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.MissingBucket, roleArn: ServiceFixture.RoleArnB));
        Assert.True(missing.Status == HttpStatusCode.UnprocessableEntity, missing.ToString());
        Assert.Equal("bucket_not_found", missing.Json.GetProperty("error").GetString());
        Assert.Contains("s3:ListBucket", missing.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var after = (await Http.GetAsync(client, "/api/v1/integrations")).Json.GetProperty("integrations").GetArrayLength();
        Assert.Equal(before, after);
        Assert.DoesNotContain(wrongId, fixture.Host.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.ExternalId, fixture.Host.Logs.All, StringComparison.Ordinal);
    }

    public static async Task Enable_of_a_bucket_without_report_warns_and_is_idempotent(ServiceFixture fixture)
    {
        using var client = fixture.ClientB();
        var first = await Http.PostAsync(client, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.EmptyBucket, roleArn: ServiceFixture.RoleArnB));
        Assert.True(first.Status == HttpStatusCode.Created, first.ToString());
        Assert.Equal("report_not_found", first.Json.GetProperty("warning").GetProperty("error").GetString());
        Assert.False(first.Json.TryGetProperty("external_id", out _));
        Assert.DoesNotContain(fixture.ExternalId, first.Body, StringComparison.Ordinal);
        var id = first.Json.GetProperty("id").GetGuid();

        var second = await Http.PostAsync(client, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.EmptyBucket, roleArn: ServiceFixture.RoleArnB));
        Assert.True(second.Status == HttpStatusCode.OK, second.ToString());
        Assert.Equal(id, second.Json.GetProperty("id").GetGuid());

        var list = (await Http.GetAsync(client, "/api/v1/integrations")).Json.GetProperty("integrations").EnumerateArray()
            .Where(i => i.GetProperty("bucket_name").GetString() == ServiceFixture.EmptyBucket).ToList();
        Assert.Single(list);
        var workflow = list[0].GetProperty("workflow");
        Assert.Equal($"cur-integration-{id}", workflow.GetProperty("workflow_id").GetString());
        Assert.Contains($"/namespaces/default/workflows/cur-integration-{id}", workflow.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.ExternalId, fixture.Host.Logs.All, StringComparison.Ordinal);
    }

    public static async Task Another_organizations_integration_is_404_on_every_endpoint(ServiceFixture fixture)
    {
        using var owner = fixture.ClientA();
        var enabled = await Http.PostAsync(owner, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.EmptyBucket));
        Assert.True(enabled.Status is HttpStatusCode.Created or HttpStatusCode.OK, enabled.ToString());
        var id = enabled.Json.GetProperty("id").GetGuid();
        var unknown = Guid.NewGuid();

        using var other = fixture.ClientB();
        foreach (var (method, path) in Endpoints(id))
        {
            var foreign = await Http.SendAsync(other, method, path);
            var missing = await Http.SendAsync(other, method, path.Replace(id.ToString(), unknown.ToString(), StringComparison.Ordinal));
            Assert.True(foreign.Status == HttpStatusCode.NotFound, $"{method} {path}: {foreign}");
            Assert.Equal("not_found", foreign.Json.GetProperty("error").GetString());
            Assert.Equal(missing.Status, foreign.Status);
            Assert.Equal(missing.ContentType, foreign.ContentType);
            Assert.Equal(Without(missing.Body, "trace_id"), Without(foreign.Body, "trace_id"));
        }

        var otherList = (await Http.GetAsync(other, "/api/v1/integrations")).Json.GetProperty("integrations").EnumerateArray();
        Assert.DoesNotContain(otherList, i => i.GetProperty("id").GetGuid() == id);

        // The owner still sees it, enabled: the refused disable did nothing.
        var own = await Http.GetAsync(owner, $"/api/v1/integrations/{id}");
        Assert.Equal(HttpStatusCode.OK, own.Status);
        Assert.Equal("enabled", own.Json.GetProperty("status").GetString());

        // Nor can the other organization connect the owner's role, even with its external ID.
        var claimed = await Http.PostAsync(other, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.EmptyBucket));
        Assert.True(claimed.Status == HttpStatusCode.Conflict, claimed.ToString());
        Assert.Equal("application/problem+json", claimed.ContentType);
        Assert.Equal("role_in_use", claimed.Json.GetProperty("error").GetString());
        Assert.DoesNotContain(fixture.ExternalId, claimed.Body, StringComparison.Ordinal);
        Assert.Equal(otherList.Count(), (await Http.GetAsync(other, "/api/v1/integrations")).Json.GetProperty("integrations").GetArrayLength());
    }

    public static async Task A_deleted_integration_takes_its_runs_and_costs_and_frees_its_role_for_another_organization(ServiceFixture fixture)
    {
        var (_, firstKey) = await fixture.CreateOrganizationAsync("moves-from");
        var (_, secondKey) = await fixture.CreateOrganizationAsync("moves-to");
        using var first = fixture.Host.CreateClient(firstKey);
        using var second = fixture.Host.CreateClient(secondKey);
        var body = fixture.EnableBody(ServiceFixture.ReportBucket, roleArn: ServiceFixture.RoleArnMoves);
        var range = $"from={fixture.Month:yyyy-MM-dd}&to={fixture.Month.AddMonths(1).AddDays(-1):yyyy-MM-dd}";

        var enabled = await Http.PostAsync(first, "/api/v1/integrations", body);
        Assert.True(enabled.Status == HttpStatusCode.Created, enabled.ToString());
        var id = enabled.Json.GetProperty("id").GetGuid();
        Assert.Equal("succeeded", (await WaitForRunsAsync(first, id, 1)).GetProperty("outcome").GetString());
        Assert.NotEmpty((await Http.GetAsync(first, $"/api/v1/costs?{range}")).Json.GetProperty("totals").EnumerateArray());

        var whileEnabled = await Http.SendAsync(first, HttpMethod.Delete, $"/api/v1/integrations/{id}");
        Assert.True(whileEnabled.Status == HttpStatusCode.Conflict, whileEnabled.ToString());
        Assert.Equal("integration_enabled", whileEnabled.Json.GetProperty("error").GetString());
        var claimed = await Http.PostAsync(second, "/api/v1/integrations", body);
        Assert.True(claimed.Status == HttpStatusCode.Conflict, claimed.ToString());
        Assert.Equal("role_in_use", claimed.Json.GetProperty("error").GetString());
        var foreign = await Http.SendAsync(second, HttpMethod.Delete, $"/api/v1/integrations/{id}");
        Assert.True(foreign.Status == HttpStatusCode.NotFound, foreign.ToString());

        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(first, $"/api/v1/integrations/{id}/disable")).Status);
        // Still claimed while disabled: only a deletion lets the role go.
        Assert.Equal(HttpStatusCode.Conflict, (await Http.PostAsync(second, "/api/v1/integrations", body)).Status);
        await DeleteOnceItsWorkflowEndedAsync(first, id);

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(first, $"/api/v1/integrations/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(first, $"/api/v1/integrations/{id}/runs")).Status);
        Assert.Empty((await Http.GetAsync(first, "/api/v1/integrations")).Json.GetProperty("integrations").EnumerateArray());
        Assert.Empty((await Http.GetAsync(first, $"/api/v1/costs?{range}")).Json.GetProperty("totals").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await Http.SendAsync(first, HttpMethod.Delete, $"/api/v1/integrations/{id}")).Status);

        // The role is free: the other organization connects it, collects, and then lets it go again.
        var moved = await Http.PostAsync(second, "/api/v1/integrations", body);
        Assert.True(moved.Status == HttpStatusCode.Created, moved.ToString());
        var movedId = moved.Json.GetProperty("id").GetGuid();
        Assert.NotEqual(id, movedId);
        Assert.Equal("succeeded", (await WaitForRunsAsync(second, movedId, 1)).GetProperty("outcome").GetString());
        AssertTotals(fixture.Delivery.Truth.Unblended, fixture.Delivery.Truth.NetUnblended, fixture.Delivery.Truth.Amortized,
            (await Http.GetAsync(second, $"/api/v1/costs?{range}")).Json.GetProperty("totals"));
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(second, $"/api/v1/integrations/{movedId}/disable")).Status);
        await DeleteOnceItsWorkflowEndedAsync(second, movedId);
    }

    /// <summary>DELETE, answered 409 integration_stopping while the disabled integration's workflow still ends.</summary>
    private static async Task DeleteOnceItsWorkflowEndedAsync(HttpClient client, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var deleted = await Http.SendAsync(client, HttpMethod.Delete, $"/api/v1/integrations/{id}");
            if (deleted.Status == HttpStatusCode.NoContent)
            {
                return;
            }

            Assert.True(deleted.Status == HttpStatusCode.Conflict, deleted.ToString());
            Assert.Equal("integration_stopping", deleted.Json.GetProperty("error").GetString());
            Assert.True(DateTime.UtcNow < deadline, "the disabled integration's workflow did not end within 60 s: " + deleted);
            await Task.Delay(500);
        }
    }

    public static async Task Enable_collect_query_refresh_and_disable_end_to_end(ServiceFixture fixture)
    {
        using var client = fixture.ClientA();
        var enabled = await Http.PostAsync(client, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.ReportBucket));
        Assert.True(enabled.Status == HttpStatusCode.Created, enabled.ToString());
        // The product doc's three fields: the report is found under the module's default prefix.
        Assert.False(enabled.Json.TryGetProperty("warning", out _), enabled.ToString());
        Assert.Equal("massdriver", enabled.Json.GetProperty("report_prefix").GetString());
        // The answer carries the workflow's own state (it has just started) and the runs so far, as a status request does.
        Assert.Contains(enabled.Json.GetProperty("workflow").GetProperty("state").GetString(), new[] { "idle", "running" });
        Assert.Equal(JsonValueKind.Array, enabled.Json.GetProperty("last_runs").ValueKind);
        var id = enabled.Json.GetProperty("id").GetGuid();

        var firstRun = await WaitForRunsAsync(client, id, 1);
        Assert.True(firstRun.GetProperty("outcome").GetString() == "succeeded", firstRun.ToString());
        Assert.False(firstRun.TryGetProperty("error_code", out _), firstRun.ToString());
        Assert.Contains("/history", firstRun.GetProperty("url").GetString(), StringComparison.Ordinal);

        var truth = fixture.Delivery.Truth;
        var (from, to) = (fixture.Month.AddDays(-7), fixture.Month.AddMonths(1).AddDays(6));
        var range = $"from={Date(from)}&to={Date(to)}&integration_id={id}";

        // Daily by package: totals equal the report's, untagged included; each package-day equals the generator's figure.
        var daily = await Http.GetAsync(client, $"/api/v1/costs?{range}");
        Assert.True(daily.Status == HttpStatusCode.OK, daily.ToString());
        AssertTotals(truth.Unblended, truth.NetUnblended, truth.Amortized, daily.Json.GetProperty("totals"));
        var rows = daily.Json.GetProperty("rows").EnumerateArray().ToList();
        AssertAmount(truth.Unblended, rows.Sum(r => r.GetProperty("unblended").Amount()));
        var byPackageDay = rows.GroupBy(r => (DateOnly.Parse(r.GetProperty("period").GetString()!, CultureInfo.InvariantCulture), r.GetProperty("package").GetString()!))
            .ToDictionary(g => g.Key, g => g.Sum(r => r.GetProperty("unblended").Amount()));
        foreach (var ((day, tagValue), unblended) in truth.DailyPackageUnblended.Where(kv => kv.Key.Package.Length > 0))
        {
            AssertAmount(unblended, byPackageDay.GetValueOrDefault((day, tagValue)));
        }

        // Monthly answers the same totals; a package filter narrows the rows but not the totals.
        var monthly = await Http.GetAsync(client, $"/api/v1/costs?granularity=monthly&{range}");
        AssertTotals(truth.Unblended, truth.NetUnblended, truth.Amortized, monthly.Json.GetProperty("totals"));
        // ...and is the monthly answer, not the daily one of the same range cached just before: one row per package and
        // month, each on the first of its month.
        Assert.Equal("daily", daily.Json.GetProperty("granularity").GetString());
        Assert.Contains(rows, r => DateOnly.Parse(r.GetProperty("period").GetString()!, CultureInfo.InvariantCulture).Day != 1);
        Assert.Equal("monthly", monthly.Json.GetProperty("granularity").GetString());
        var monthlyRows = monthly.Json.GetProperty("rows").EnumerateArray().ToList();
        Assert.NotEmpty(monthlyRows);
        Assert.All(monthlyRows, r => Assert.Equal(1, DateOnly.Parse(r.GetProperty("period").GetString()!, CultureInfo.InvariantCulture).Day));
        Assert.True(monthlyRows.Count < rows.Count, monthly.ToString());
        AssertAmount(truth.Unblended, monthlyRows.Sum(r => r.GetProperty("unblended").Amount()));
        var package = truth.DailyPackageUnblended.Keys.Select(k => k.Package).First(p => p.Length > 0);
        var packageTruth = truth.DailyPackageUnblended.Where(kv => kv.Key.Package == package).Sum(kv => kv.Value);
        var filtered = await Http.GetAsync(client, $"/api/v1/costs?{range}&package={Uri.EscapeDataString(package)}");
        Assert.All(filtered.Json.GetProperty("rows").EnumerateArray(), r => Assert.Equal(package, r.GetProperty("package").GetString()));
        AssertAmount(packageTruth, filtered.Json.GetProperty("rows").EnumerateArray().Sum(r => r.GetProperty("unblended").Amount()));
        AssertTotals(truth.Unblended, truth.NetUnblended, truth.Amortized, filtered.Json.GetProperty("totals"));

        // By resource within the package: the package's cost, split by resource.
        var resources = await Http.GetAsync(client, $"/api/v1/costs/resources?{range}&package={Uri.EscapeDataString(package)}");
        Assert.True(resources.Status == HttpStatusCode.OK, resources.ToString());
        AssertAmount(packageTruth, resources.Json.GetProperty("totals").EnumerateArray().Sum(t => t.GetProperty("unblended").Amount()));

        // JSON when the client ranks it above CSV; CSV by query parameter and by Accept header, with the same figures.
        var preferringJson = await Http.GetAsync(client, $"/api/v1/costs?{range}", "application/json, text/csv;q=0.5");
        Assert.StartsWith("application/json", preferringJson.ContentType, StringComparison.Ordinal);
        Assert.Equal("text/csv", (await Http.GetAsync(client, $"/api/v1/costs?{range}", "application/json;q=0.5, text/csv")).ContentType);
        foreach (var csv in new[] { await Http.GetAsync(client, $"/api/v1/costs?{range}&format=csv"), await Http.GetAsync(client, $"/api/v1/costs?{range}", "text/csv") })
        {
            Assert.Equal("text/csv", csv.ContentType);
            var lines = csv.Body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("date,package,currency,unblended,net_unblended,amortized", lines[0]);
            Assert.Equal(rows.Count, lines.Length - 1);
            AssertAmount(truth.Unblended, lines.Skip(1).Sum(l => decimal.Parse(l.Split(',')[^3], CultureInfo.InvariantCulture)));
        }

        // Status: last run, coverage (untagged share) and the link to the workflow.
        var status = await Http.GetAsync(client, $"/api/v1/integrations/{id}");
        Assert.Equal("succeeded", status.Json.GetProperty("last_runs")[0].GetProperty("outcome").GetString());
        var coverage = status.Json.GetProperty("coverage");
        AssertAmount(truth.Unblended, coverage.EnumerateArray().Sum(c => c.GetProperty("total_unblended").Amount()));
        // The untagged share is the untagged unblended over the unblended, rounded to six places (the fixture's bucket has
        // no tagging API answers, so the untagged cost is the generator's untagged rows').
        var month = Assert.Single(coverage.EnumerateArray());
        AssertAmount(truth.UntaggedUnblended, month.GetProperty("untagged_unblended").Amount());
        Assert.True(truth.UntaggedUnblended > 0 && truth.UntaggedUnblended * 2 != truth.Unblended, $"untagged {truth.UntaggedUnblended} of {truth.Unblended}");
        AssertAmount(Math.Round(truth.UntaggedUnblended / truth.Unblended, 6), month.GetProperty("untagged_share").Amount());

        // Refresh: another run; the same assembly again changes nothing.
        Assert.Equal(HttpStatusCode.Accepted, (await Http.PostAsync(client, $"/api/v1/integrations/{id}/refresh")).Status);
        var secondRun = await WaitForRunsAsync(client, id, 2);
        Assert.Equal("succeeded", secondRun.GetProperty("outcome").GetString());
        AssertTotals(truth.Unblended, truth.NetUnblended, truth.Amortized, (await Http.GetAsync(client, $"/api/v1/costs?{range}")).Json.GetProperty("totals"));

        // Disable: the integration stops, the data stays; refresh is refused until enabled again.
        var disabled = await Http.PostAsync(client, $"/api/v1/integrations/{id}/disable");
        Assert.True(disabled.Status == HttpStatusCode.OK, disabled.ToString());
        Assert.Equal("disabled", disabled.Json.GetProperty("status").GetString());
        Assert.Equal("disabled", disabled.Json.GetProperty("workflow").GetProperty("state").GetString());
        Assert.Equal(2, disabled.Json.GetProperty("last_runs").GetArrayLength());
        AssertTotals(truth.Unblended, truth.NetUnblended, truth.Amortized, (await Http.GetAsync(client, $"/api/v1/costs?{range}")).Json.GetProperty("totals"));
        var refreshOfDisabled = await Http.PostAsync(client, $"/api/v1/integrations/{id}/refresh");
        Assert.True(refreshOfDisabled.Status == HttpStatusCode.Conflict, refreshOfDisabled.ToString());
        Assert.Equal("application/problem+json", refreshOfDisabled.ContentType);
        Assert.Equal("integration_disabled", refreshOfDisabled.Json.GetProperty("error").GetString());
        var again = await Http.PostAsync(client, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.ReportBucket));
        Assert.True(again.Status == HttpStatusCode.OK, again.ToString());
        Assert.Equal(id, again.Json.GetProperty("id").GetGuid());
        Assert.Equal("enabled", again.Json.GetProperty("status").GetString());

        Assert.DoesNotContain(fixture.ExternalId, fixture.Host.Logs.All, StringComparison.Ordinal);
        foreach (var answer in new[] { enabled, daily, monthly, status, disabled, again })
        {
            Assert.DoesNotContain(fixture.ExternalId, answer.Body, StringComparison.Ordinal);
        }
    }

    public static IEnumerable<(HttpMethod Method, string Path)> Endpoints(Guid id) =>
    [
        (HttpMethod.Get, $"/api/v1/integrations/{id}"),
        (HttpMethod.Post, $"/api/v1/integrations/{id}/refresh"),
        (HttpMethod.Post, $"/api/v1/integrations/{id}/disable"),
        (HttpMethod.Delete, $"/api/v1/integrations/{id}"),
        (HttpMethod.Get, $"/api/v1/integrations/{id}/runs"),
        (HttpMethod.Get, $"/api/v1/costs?integration_id={id}"),
        (HttpMethod.Get, $"/api/v1/costs/resources?package=web&integration_id={id}"),
    ];

    public static async Task Traces_and_logs_show_requests_and_activity_attempts_with_their_aws_calls_and_no_secret(ServiceFixture fixture)
    {
        var (_, key) = await fixture.CreateOrganizationAsync("org-traces");
        using var client = fixture.Host.CreateClient(key);
        var enabled = await Http.PostAsync(client, "/api/v1/integrations", fixture.EnableBody(ServiceFixture.ReportBucket, roleArn: ServiceFixture.RoleArnTraces));
        Assert.True(enabled.Status == HttpStatusCode.Created, enabled.ToString());
        var id = enabled.Json.GetProperty("id").GetGuid();
        var run = await WaitForRunsAsync(client, id, 1);
        Assert.True(run.GetProperty("outcome").GetString() == "succeeded", run.ToString());
        using (var anonymous = fixture.Host.CreateClient())
        using (var ready = await anonymous.GetAsync(new Uri("/health/ready", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // Spans are exported in the order they end: once this later request's are in, a probe's span would be too.
        var marker = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(client, $"/api/v1/integrations/{marker}")).Status);
        var timeout = TimeSpan.FromSeconds(30);
        await fixture.Telemetry.WaitForTracesAsync(t => t.Contains(marker.ToString(), StringComparison.Ordinal), timeout);
        // The enable request, the collection's activity attempts tagged with their workflow, and the S3 calls.
        await fixture.Telemetry.WaitForTracesAsync(t => t.Contains("http.route", StringComparison.Ordinal) && t.Contains("/api/v1/integrations", StringComparison.Ordinal), timeout);
        foreach (var activity in new[] { "ValidateAccess", "PlanCollection", "DownloadReportFile", "AggregateReportFile", "StagePeriod", "PersistPeriod" })
        {
            await fixture.Telemetry.WaitForTracesAsync(t => t.Contains($"RunActivity:{activity}", StringComparison.Ordinal), timeout);
        }

        await fixture.Telemetry.WaitForTracesAsync(t => t.Contains($"cur-collection-{id}", StringComparison.Ordinal), timeout);
        await fixture.Telemetry.WaitForTracesAsync(t => t.Contains($"/{ServiceFixture.ReportBucket}/", StringComparison.Ordinal), timeout);

        // The logs go to the collector too, the aggregation's line among them.
        await fixture.Telemetry.WaitForLogsAsync(l => l.Contains("Aggregated {File}", StringComparison.Ordinal), timeout);

        var traces = string.Join('\n', fixture.Telemetry.Traces);
        var logs = string.Join('\n', fixture.Telemetry.Logs);
        string[] secrets = [fixture.ExternalId, ServiceFixture.PlatformSecret, ServiceFixture.AdminKey, fixture.OrganizationAKey, key, .. fixture.Aws.IssuedSecretsForLeakChecks()];
        Assert.True(secrets.Length > 5, "the local endpoint issued the collection's session credentials");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, traces, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }

        // Probes are left out: no server span ("GET /health/ready"). The test's own requests to them are in the traces
        // as client spans, since the service's tracing listens process-wide.
        Assert.DoesNotContain("GET /health/", traces, StringComparison.Ordinal);
        Assert.Contains("GET /api/v1/integrations/{integrationId:guid}/runs", traces, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> WaitForRunsAsync(HttpClient client, Guid id, int finishedRuns)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        Answer? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await Http.GetAsync(client, $"/api/v1/integrations/{id}/runs");
            var finished = last.Json.GetProperty("runs").EnumerateArray().Where(r => r.GetProperty("outcome").GetString() != "running").ToList();
            if (finished.Count >= finishedRuns)
            {
                return finished[0].Clone();
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"Integration {id} did not finish {finishedRuns} run(s): {last}");
    }

    private static void AssertTotals(decimal unblended, decimal net, decimal amortized, JsonElement totals)
    {
        var list = totals.EnumerateArray().ToList();
        AssertAmount(unblended, list.Sum(t => t.GetProperty("unblended").Amount()));
        AssertAmount(net, list.Sum(t => t.GetProperty("net_unblended").Amount()));
        AssertAmount(amortized, list.Sum(t => t.GetProperty("amortized").Amount()));
    }

    // Exact on every provider: stored amounts keep the 12 decimal places the CUR core accepts.
    private static void AssertAmount(decimal expected, decimal actual) =>
        Assert.True(expected == actual, $"expected {expected}, got {actual}");

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Without(string json, string property)
    {
        if (json.Length == 0)
        {
            return json;
        }

        var element = JsonDocument.Parse(json).RootElement;
        return JsonSerializer.Serialize(element.EnumerateObject().Where(p => p.Name != property).ToDictionary(p => p.Name, p => p.Value));
    }
}

public sealed class SqliteApiTests(SqliteServiceFixture fixture) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public Task Readiness_checks_the_database_Temporal_and_the_platforms_AWS_credentials() =>
        ApiScenarios.Readiness_checks_the_database_Temporal_and_the_platforms_AWS_credentials(fixture);

    [Fact]
    public Task Requests_without_a_valid_key_are_401() => ApiScenarios.Requests_without_a_valid_key_are_401(fixture);

    [Fact]
    public Task The_OpenAPI_document_describes_the_key_the_cost_queries_their_errors_and_decimal_amounts() =>
        ApiScenarios.The_OpenAPI_document_describes_the_key_the_cost_queries_their_errors_and_decimal_amounts(fixture);

    [Fact]
    public Task Malformed_query_parameters_are_400_naming_the_parameter() => ApiScenarios.Malformed_query_parameters_are_400_naming_the_parameter(fixture);

    [Fact]
    public Task Enable_again_without_the_optional_fields_keeps_what_was_stored() => ApiScenarios.Enable_again_without_the_optional_fields_keeps_what_was_stored(fixture);

    [Fact]
    public Task Malformed_enable_requests_are_400_naming_the_field_and_store_nothing() =>
        ApiScenarios.Malformed_enable_requests_are_400_naming_the_field_and_store_nothing(fixture);

    [Fact]
    public Task Enable_with_a_wrong_external_id_or_a_missing_bucket_is_422_with_the_cause() =>
        ApiScenarios.Enable_with_a_wrong_external_id_or_a_missing_bucket_is_422_with_the_cause(fixture);

    [Fact]
    public Task Enable_of_a_bucket_without_report_warns_and_is_idempotent() =>
        ApiScenarios.Enable_of_a_bucket_without_report_warns_and_is_idempotent(fixture);

    [Fact]
    public Task Another_organizations_integration_is_404_on_every_endpoint() =>
        ApiScenarios.Another_organizations_integration_is_404_on_every_endpoint(fixture);

    [Fact]
    public Task Enable_collect_query_refresh_and_disable_end_to_end() =>
        ApiScenarios.Enable_collect_query_refresh_and_disable_end_to_end(fixture);

    [Fact]
    public Task The_admin_API_lists_organizations_by_name_so_a_lost_key_can_be_replaced() =>
        ApiScenarios.The_admin_API_lists_organizations_by_name_so_a_lost_key_can_be_replaced(fixture);

    [Fact]
    public Task A_deleted_integration_takes_its_runs_and_costs_and_frees_its_role_for_another_organization() =>
        ApiScenarios.A_deleted_integration_takes_its_runs_and_costs_and_frees_its_role_for_another_organization(fixture);

    [Fact]
    public Task Traces_and_logs_show_requests_and_activity_attempts_with_their_aws_calls_and_no_secret() =>
        ApiScenarios.Traces_and_logs_show_requests_and_activity_attempts_with_their_aws_calls_and_no_secret(fixture);
}

public sealed class PostgresApiTests(PostgresServiceFixture fixture) : IClassFixture<PostgresServiceFixture>
{
    [PostgresFact]
    public Task Requests_without_a_valid_key_are_401() => ApiScenarios.Requests_without_a_valid_key_are_401(fixture);

    [PostgresFact]
    public Task Malformed_enable_requests_are_400_naming_the_field_and_store_nothing() =>
        ApiScenarios.Malformed_enable_requests_are_400_naming_the_field_and_store_nothing(fixture);

    [PostgresFact]
    public Task Enable_with_a_wrong_external_id_or_a_missing_bucket_is_422_with_the_cause() =>
        ApiScenarios.Enable_with_a_wrong_external_id_or_a_missing_bucket_is_422_with_the_cause(fixture);

    [PostgresFact]
    public Task Enable_of_a_bucket_without_report_warns_and_is_idempotent() =>
        ApiScenarios.Enable_of_a_bucket_without_report_warns_and_is_idempotent(fixture);

    [PostgresFact]
    public Task Another_organizations_integration_is_404_on_every_endpoint() =>
        ApiScenarios.Another_organizations_integration_is_404_on_every_endpoint(fixture);

    [PostgresFact]
    public Task Enable_collect_query_refresh_and_disable_end_to_end() =>
        ApiScenarios.Enable_collect_query_refresh_and_disable_end_to_end(fixture);

    [PostgresFact]
    public Task The_admin_API_lists_organizations_by_name_so_a_lost_key_can_be_replaced() =>
        ApiScenarios.The_admin_API_lists_organizations_by_name_so_a_lost_key_can_be_replaced(fixture);

    [PostgresFact]
    public Task A_deleted_integration_takes_its_runs_and_costs_and_frees_its_role_for_another_organization() =>
        ApiScenarios.A_deleted_integration_takes_its_runs_and_costs_and_frees_its_role_for_another_organization(fixture);

    [PostgresFact]
    public Task Traces_and_logs_show_requests_and_activity_attempts_with_their_aws_calls_and_no_secret() =>
        ApiScenarios.Traces_and_logs_show_requests_and_activity_attempts_with_their_aws_calls_and_no_secret(fixture);
}
