using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using CurWorkflows.Aws;
using CurWorkflows.LocalAws;
using CurWorkflows.ReportGenerator;
using CurWorkflows.Service.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CurWorkflows.Service.Tests;

/// <summary>
/// The local mode as a user meets it: the service with its embedded Temporal dev server and Web UI, a customer role
/// that stops trusting the platform, and the failed collection run looked at in a real (headless) Chromium.
/// </summary>
public sealed partial class TemporalUiBrowserTests
{
    private const string AdminKey = "browser-admin-key-0123456789";
    private const string RoleArn = "arn:aws:iam::123456789012:role/massdriver-cur-reader";
    private const string Bucket = "massdriver-costs-browser1";
    private const string PlatformAccessKeyId = "AKIAPLATFORMBROWSER1";
    private const string PlatformSecret = "platform-secret-for-browser-test";

    [BrowserFact]
    public async Task A_collection_run_refused_with_access_denied_shows_in_the_Temporal_UI_as_Failed_with_its_error_type()
    {
        var chromium = SystemBrowser.ChromiumPath;
        Assert.True(chromium is not null, SystemBrowser.MissingMessage);

        var workDirectory = TestEnvironment.NewTempDirectory("browser");
        var reportDirectory = Path.Combine(workDirectory, "bucket");
        var month = new DateOnly(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1).AddMonths(-1);
        ReportDelivery.WriteToDirectory(reportDirectory, new ReportDeliveryOptions
        {
            Bucket = Bucket,
            Prefix = "cur",
            Files = 1,
            Report = new ReportGeneratorOptions { Rows = 500, BillingPeriodStart = month, Seed = 71, Final = true },
        });
        var externalId = "ExtId-" + Guid.NewGuid().ToString("N");
        var trust = new LocalAwsRoleTrust
        {
            RoleArn = RoleArn,
            ExternalId = externalId,
            PolicyPath = Path.Combine(TestEnvironment.RepositoryRoot, "integrations", "aws-cost-and-usage-reports", "policies", "cur-reader-policy.json"),
        };
        await using var aws = await LocalAwsServer.StartAsync(new LocalAwsOptions
        {
            PlatformKeys = [new LocalAwsAccessKey { AccessKeyId = PlatformAccessKeyId, SecretAccessKey = PlatformSecret }],
            Roles = [trust],
            SeedDirectories = [new LocalAwsSeedDirectory { Bucket = Bucket, Directory = reportDirectory }],
        });

        // The one-command local mode: no Temporal address, so the service starts its own dev server with the Web UI and
        // builds its links from that UI's address.
        var settings = new Dictionary<string, string?>
        {
            ["Temporal:EmbeddedPort"] = "0",
            ["Temporal:EmbeddedUiPort"] = "0",
            ["Temporal:EmbeddedDataDirectory"] = Path.Combine(workDirectory, "temporal"),
            ["Temporal:CliPath"] = TestEnvironment.TemporalCliPath,
            ["Api:AdminKey"] = AdminKey,
            ["Api:CreateBootstrapKey"] = "false",
            ["Aws:StsServiceUrl"] = aws.Url.ToString(),
            ["Aws:S3ServiceUrl"] = aws.Url.ToString(),
            ["Aws:TaggingServiceUrl"] = aws.Url.ToString(),
            ["Aws:S3ForcePathStyle"] = "true",
            ["Collection:SpoolDirectory"] = Path.Combine(workDirectory, "spool"),
            ["ConnectionStrings:CurWorkflows"] = $"Data Source={Path.Combine(workDirectory, "curworkflows.db")}",
        };
        await using var host = await ServiceTestHost.StartAsync(settings, workDirectory, builder =>
            builder.Services.AddSingleton(new AwsPlatformCredentials(new BasicAWSCredentials(PlatformAccessKeyId, PlatformSecret))));
        Assert.NotNull(host.Startup.Temporal);
        using var client = host.CreateClient(await CreateOrganizationKeyAsync(host));

        // Enabled while the role trusts the platform: the first run collects the month.
        var enabled = await Http.PostAsync(client, "/api/v1/integrations", new Dictionary<string, string>
        {
            ["iam_role_arn"] = RoleArn,
            ["external_id"] = externalId,
            ["bucket_name"] = Bucket,
            ["report_prefix"] = "cur",
        });
        Assert.True(enabled.Status == HttpStatusCode.Created, enabled.ToString());
        var integrationId = enabled.Json.GetProperty("id").GetGuid();
        var first = await WaitForFinishedRunsAsync(client, integrationId, 1);
        Assert.True(first.GetProperty("outcome").GetString() == "succeeded", first.ToString());
        var firstWorkflowId = first.GetProperty("workflow_id").GetString()!;

        // The customer re-applies the module with a new external ID: the role no longer trusts the platform's, and the
        // sessions issued before are revoked (the endpoint checks the trust object it was given on every AssumeRole).
        // The next run is refused.
        trust.ExternalId = "Rotated-" + Guid.NewGuid().ToString("N");
        aws.ExpireSessions();
        var refresh = await Http.PostAsync(client, $"/api/v1/integrations/{integrationId}/refresh");
        Assert.True(refresh.Status == HttpStatusCode.Accepted, refresh.ToString());
        var failed = await WaitForFinishedRunsAsync(client, integrationId, 2);
        Assert.True(failed.GetProperty("outcome").GetString() == "failed", failed.ToString());
        Assert.True(failed.GetProperty("error_code").GetString() == "access_denied", failed.ToString());
        var failedRunUrl = failed.GetProperty("url").GetString();
        Assert.True(failedRunUrl is not null && failedRunUrl.StartsWith(host.Startup.Temporal!.UiUrl, StringComparison.Ordinal), failed.ToString());
        var failedWorkflowId = failed.GetProperty("workflow_id").GetString()!;
        var status = await Http.GetAsync(client, $"/api/v1/integrations/{integrationId}");
        var runsListUrl = status.Json.GetProperty("runs_url").GetString();
        Assert.True(runsListUrl is not null, status.ToString());

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1440, Height = 1200 } });

        // The failed run, opened by the link the runs API gives: the header says Failed, and the failure's type is the
        // stable error code, in the result panel and in the (folded until clicked) Workflow Execution Failed event.
        // The UI scrolls inside its own containers, so each screenshot is of the viewport with the checked text in view.
        const string RunScreenshot = "temporal-ui-failed-collection-run.png";
        const string EventScreenshot = "temporal-ui-failed-collection-run-event.png";
        await page.GotoAsync(failedRunUrl);
        await ExpectVisibleAsync(page, page.GetByTestId("workflow-id-heading").GetByText(failedWorkflowId), "the failed run's workflow id as heading", RunScreenshot);
        await ExpectVisibleAsync(page, page.Locator("header").GetByText("Failed", new() { Exact = true }), "the status Failed in the header", RunScreenshot);
        var result = page.GetByTestId("input-and-result");
        await ExpectTextAsync(page, result, FailureType(), "the failure type access_denied in the result panel", RunScreenshot);
        await result.GetByText("\"access_denied\"").First.ScrollIntoViewIfNeededAsync();
        var runScreenshot = await SaveScreenshotAsync(page, RunScreenshot);

        await page.GetByTestId("event-summary-row").Filter(new() { HasText = "Workflow Execution Failed" }).First.ClickAsync();
        var failedEvent = page.GetByTestId("event-summary-row-expanded");
        await ExpectTextAsync(page, failedEvent, FailureType(), "the failure type access_denied in the expanded Workflow Execution Failed event", EventScreenshot);
        await failedEvent.GetByText("\"access_denied\"").Last.ScrollIntoViewIfNeededAsync();
        await SaveScreenshotAsync(page, EventScreenshot);
        var runPage = await page.ContentAsync();
        Assert.True(!runPage.Contains(externalId, StringComparison.Ordinal) && !runPage.Contains(trust.ExternalId, StringComparison.Ordinal),
            $"The run's page shows an external ID (screenshot: {runScreenshot}).");

        // The integration's workflows (the service's list link, filtered by the IntegrationId search attribute): the
        // integration workflow is still running beside its completed and its failed collection run.
        const string ListScreenshot = "temporal-ui-integration-workflows.png";
        var rows = page.Locator("tr");
        var failedRow = rows.Filter(new() { HasText = failedWorkflowId }).Filter(new() { HasText = "Failed" });
        for (var attempt = 1; ; attempt++)
        {
            // The list comes from the visibility store, which may trail the run's end by a moment: load it again.
            await page.GotoAsync(runsListUrl);
            if (attempt == 3 || await IsShownAsync(failedRow, TimeSpan.FromSeconds(10)))
            {
                break;
            }
        }

        await ExpectVisibleAsync(page, failedRow, "the failed collection run listed as Failed", ListScreenshot);
        await ExpectVisibleAsync(page, rows.Filter(new() { HasText = firstWorkflowId }).Filter(new() { HasText = "Completed" }), "the first collection run listed as Completed", ListScreenshot);
        await ExpectVisibleAsync(page, rows.Filter(new() { HasText = "IntegrationWorkflow" }).Filter(new() { HasText = "Running" }), "the integration workflow listed as Running", ListScreenshot);
        await SaveScreenshotAsync(page, ListScreenshot);
    }

    private static async Task ExpectVisibleAsync(IPage page, ILocator locator, string what, string screenshot)
    {
        if (!await IsShownAsync(locator, TimeSpan.FromSeconds(30)))
        {
            Assert.Fail(await NotShownAsync(page, what, screenshot));
        }
    }

    private static async Task<bool> IsShownAsync(ILocator locator, TimeSpan timeout)
    {
        try
        {
            await locator.First.WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = (float)timeout.TotalMilliseconds });
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static async Task ExpectTextAsync(IPage page, ILocator region, Regex expected, string what, string screenshot)
    {
        await ExpectVisibleAsync(page, region, what, screenshot);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!expected.IsMatch(await region.First.InnerTextAsync()))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail(await NotShownAsync(page, what, screenshot));
            }

            await Task.Delay(250);
        }
    }

    private static async Task<string> NotShownAsync(IPage page, string what, string screenshot)
    {
        var path = await SaveScreenshotAsync(page, screenshot);
        var text = WhiteSpace().Replace(await page.InnerTextAsync("body"), " ");
        return $"The Temporal UI at {page.Url} does not show {what} (screenshot: {path}). Page text: {text[..Math.Min(text.Length, 3000)]}";
    }

    private static async Task<string> SaveScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(SystemBrowser.ScreenshotDirectory, name);
        await page.ScreenshotAsync(new() { Path = path });
        return path;
    }

    // The failure's type as the UI prints the failure JSON: the stable error code the run failed with.
    [GeneratedRegex("\"type\":\\s*\"access_denied\"")]
    private static partial Regex FailureType();

    [GeneratedRegex("\\s+")]
    private static partial Regex WhiteSpace();

    private static async Task<string> CreateOrganizationKeyAsync(ServiceTestHost host)
    {
        using var admin = host.CreateClient(AdminKey);
        using var created = await admin.PostAsJsonAsync(new Uri("/api/v1/admin/organizations", UriKind.Relative), new { name = "browser" });
        created.EnsureSuccessStatusCode();
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        using var key = await admin.PostAsJsonAsync(new Uri($"/api/v1/admin/organizations/{id}/api-keys", UriKind.Relative), new { name = "browser" });
        key.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await key.Content.ReadAsStringAsync()).RootElement.GetProperty("api_key").GetString()!;
    }

    /// <summary>The newest finished run once <paramref name="count"/> runs have finished.</summary>
    private static async Task<JsonElement> WaitForFinishedRunsAsync(HttpClient client, Guid integrationId, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        Answer? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await Http.GetAsync(client, $"/api/v1/integrations/{integrationId}/runs");
            var finished = last.Json.GetProperty("runs").EnumerateArray().Where(r => r.GetProperty("outcome").GetString() != "running").ToList();
            if (finished.Count >= count)
            {
                return finished[0].Clone();
            }

            await Task.Delay(300);
        }

        throw new TimeoutException($"Integration {integrationId} did not finish {count} run(s) in 120 s: {last}");
    }
}
