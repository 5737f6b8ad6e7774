using System.Globalization;
using System.Text;
using System.Text.Json;
using CurWorkflows.Service.Auth;
using CurWorkflows.Service.Costs;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Service.Integrations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CurWorkflows.Service.Apis;

public sealed record CostRowResponse(
    string Period, string Package, string? ResourceId, string? ProductCode, string Currency, decimal Unblended, decimal NetUnblended, decimal Amortized);

public sealed record CostAmountsResponse(string Currency, decimal Unblended, decimal NetUnblended, decimal Amortized);

public sealed record CostsResponse(
    string From,
    string To,
    string Granularity,
    IReadOnlyList<string>? Packages,
    string? Package,
    Guid? IntegrationId,
    IReadOnlyList<CostAmountsResponse> Totals,
    IReadOnlyList<CostAmountsResponse>? Untagged,
    IReadOnlyList<CostRowResponse> Rows);

/// <summary>
/// Cost reads: by package (optionally filtered), and by resource within one package; daily or monthly; JSON,
/// or CSV with <c>Accept: text/csv</c> or <c>format=csv</c>. Untagged cost is package "".
/// </summary>
public static class CostsApi
{
    private const int MaxPackages = 100;

    public static RouteGroupBuilder MapCostsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/costs").WithTags("Costs").ProducesValidationProblem();
        group.MapGet("/", GetCostsByPackage);
        group.MapGet("/resources", GetCostsByResource);
        return group;
    }

    public static Task<Results<CostAnswerResult, NotFound, ProblemHttpResult>> GetCostsByPackage(
        HttpContext http, CostQueries queries, CostAnswerCache cache, CostDataVersionCache versions, IntegrationService integrations,
        IOptions<ApiOptions> options, IOptions<JsonOptions> json, CancellationToken cancellationToken) =>
        AnswerCostsAsync(http, cache, versions, integrations, options, byResource: false, async (request, organizationId, csv, computeToken) =>
        {
            var report = await queries.ByPackageAsync(
                new CostQuery(organizationId, request.From, request.To, request.Granularity, request.Packages, request.IntegrationId), computeToken);
            return csv
                ? Csv(CostCsv.Write(report, request.Granularity, byResource: false))
                : Json(ToResponse(request, report, package: null), json.Value);
        }, cancellationToken);

    public static Task<Results<CostAnswerResult, NotFound, ProblemHttpResult>> GetCostsByResource(
        HttpContext http, CostQueries queries, CostAnswerCache cache, CostDataVersionCache versions, IntegrationService integrations,
        IOptions<ApiOptions> options, IOptions<JsonOptions> json, CancellationToken cancellationToken) =>
        AnswerCostsAsync(http, cache, versions, integrations, options, byResource: true, async (request, organizationId, csv, computeToken) =>
        {
            var package = request.Packages[0];
            var report = await queries.ByResourceAsync(
                new ResourceCostQuery(organizationId, package, request.From, request.To, request.Granularity, request.IntegrationId), computeToken);
            return csv
                ? Csv(CostCsv.Write(report, request.Granularity, byResource: true))
                : Json(ToResponse(request, report, package), json.Value);
        }, cancellationToken);

    /// <summary>
    /// What both cost endpoints do around their query: parse and validate the query string (the by-resource endpoint
    /// requires one package), scope it to the caller's organization (another organization's integration is 404), and
    /// answer from the cache or by computing the answer.
    /// </summary>
    private static async Task<Results<CostAnswerResult, NotFound, ProblemHttpResult>> AnswerCostsAsync(
        HttpContext http, CostAnswerCache cache, CostDataVersionCache versions, IntegrationService integrations, IOptions<ApiOptions> options,
        bool byResource, Func<CostRequest, Guid, bool, CancellationToken, Task<CostAnswer>> compute, CancellationToken cancellationToken)
    {
        var parsed = CostRequest.Parse(http.Request.Query, options.Value.MaxQueryDays, requirePackage: byResource);
        if (parsed.Errors.Count > 0)
        {
            return TypedResults.Problem(Problems.Validation(parsed.Errors));
        }

        var organizationId = http.User.OrganizationId();
        if (parsed.IntegrationId is { } integrationId && !await integrations.ExistsAsync(organizationId, integrationId, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var csv = parsed.WantsCsv(http.Request);
        var queryKey = parsed.CacheKey(byResource ? "resources" : "packages", csv);
        return new CostAnswerResult(await AnswerAsync(
            cache, versions, organizationId, queryKey, computeToken => compute(parsed, organizationId, csv, computeToken), cancellationToken));
    }

    /// <summary>
    /// The organization's cost-data version is read (or was read, at most Api:CostDataVersionMaxAgeMilliseconds ago)
    /// before any cost row: rows read after it are at least as new, so an answer is never stored under a version newer
    /// than its data (at worst an answer of newer data is stored under the older version and computed again later).
    /// </summary>
    private static async Task<CostAnswer> AnswerAsync(
        CostAnswerCache cache, CostDataVersionCache versions, Guid organizationId, string queryKey, Func<CancellationToken, Task<CostAnswer>> compute,
        CancellationToken cancellationToken)
    {
        if (!cache.Enabled)
        {
            return await compute(cancellationToken);
        }

        var version = await versions.GetAsync(organizationId, cancellationToken);
        return await cache.GetOrComputeAsync(
            organizationId.ToString("N", CultureInfo.InvariantCulture) + "|" + queryKey, version, compute, cancellationToken);
    }

    private static CostAnswer Csv(string text) => CostAnswer.Create(Encoding.UTF8.GetBytes(text), "text/csv; charset=utf-8");

    private static CostAnswer Json(CostsResponse response, JsonOptions options) =>
        CostAnswer.Create(JsonSerializer.SerializeToUtf8Bytes(response, options.SerializerOptions), "application/json; charset=utf-8");

    private static CostsResponse ToResponse(CostRequest request, CostReport report, string? package) => new(
        Date(request.From),
        Date(request.To),
        request.Granularity == CostGranularity.Daily ? "daily" : "monthly",
        package is null && request.Packages.Count > 0 ? request.Packages : null,
        package,
        request.IntegrationId,
        report.Totals.Select(ToAmounts).ToList(),
        package is null ? report.Untagged.Select(ToAmounts).ToList() : null,
        report.Rows.Select(r => new CostRowResponse(
            Date(r.Period), r.Package, r.ResourceId, r.ProductCode, r.Currency, r.Cost.Unblended, r.Cost.NetUnblended, r.Cost.Amortized)).ToList());

    private static CostAmountsResponse ToAmounts(CurrencyAmounts amounts) =>
        new(amounts.Currency, amounts.Cost.Unblended, amounts.Cost.NetUnblended, amounts.Cost.Amortized);

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Query string of the cost endpoints, parsed by hand so that every rejection names its parameter.</summary>
    private sealed record CostRequest(
        DateOnly From, DateOnly To, CostGranularity Granularity, IReadOnlyList<string> Packages, Guid? IntegrationId, string? Format,
        Dictionary<string, string[]> Errors)
    {
        public static CostRequest Parse(IQueryCollection query, int maxDays, bool requirePackage)
        {
            var errors = new Dictionary<string, string[]>();
            var today = DateOnly.FromDateTime(DateTime.UtcNow);

            var granularity = CostGranularity.Daily;
            switch (query["granularity"].ToString())
            {
                case "" or "daily":
                    break;
                case "monthly":
                    granularity = CostGranularity.Monthly;
                    break;
                default:
                    errors["granularity"] = ["granularity must be daily or monthly."];
                    break;
            }

            var to = ParseDate(query, "to", errors) ?? today;
            var from = ParseDate(query, "from", errors)
                ?? (granularity == CostGranularity.Daily ? new DateOnly(to.Year, to.Month, 1) : new DateOnly(to.Year, to.Month, 1).AddMonths(-11));
            if (!errors.ContainsKey("from") && !errors.ContainsKey("to"))
            {
                if (from > to)
                {
                    errors["from"] = ["from must not be after to."];
                }
                else if (to.DayNumber - from.DayNumber + 1 > maxDays)
                {
                    errors["to"] = [$"The date range may span at most {maxDays} days."];
                }
            }

            var packages = query["package"].Select(p => p ?? "").ToList();
            if (packages.Count > MaxPackages)
            {
                errors["package"] = [$"At most {MaxPackages} package filters are allowed."];
            }
            else if (packages.Any(p => p.Length > 256))
            {
                errors["package"] = ["package values are at most 256 characters long."];
            }
            else if (requirePackage && packages.Count != 1)
            {
                errors["package"] = ["package is required, once (an empty value selects untagged cost)."];
            }

            Guid? integrationId = null;
            if (query["integration_id"].ToString() is { Length: > 0 } rawIntegration)
            {
                if (Guid.TryParse(rawIntegration, out var parsedId))
                {
                    integrationId = parsedId;
                }
                else
                {
                    errors["integration_id"] = ["integration_id must be an integration id (a GUID)."];
                }
            }

            var format = query["format"].ToString();
            if (format is not ("" or "json" or "csv"))
            {
                errors["format"] = ["format must be json or csv."];
            }

            return new CostRequest(from, to, granularity, packages, integrationId, format.Length == 0 ? null : format, errors);
        }

        /// <summary>
        /// Everything the answer depends on besides the organization and its data: the resolved range (defaults are
        /// resolved from today), granularity, integration, the package filters as given (the answer echoes them, in order;
        /// each length-prefixed so no value can imitate another list) and the format.
        /// </summary>
        public string CacheKey(string endpoint, bool csv)
        {
            var key = new StringBuilder(96)
                .Append(endpoint).Append('|').Append(Date(From)).Append('|').Append(Date(To)).Append('|')
                .Append(Granularity == CostGranularity.Daily ? 'd' : 'm').Append('|')
                .Append(IntegrationId?.ToString("N", CultureInfo.InvariantCulture) ?? "-").Append('|')
                .Append(csv ? "csv" : "json").Append('|').Append(Packages.Count);
            foreach (var package in Packages)
            {
                key.Append('|').Append(package.Length).Append(':').Append(package);
            }

            return key.ToString();
        }

        public bool WantsCsv(HttpRequest request)
        {
            if (Format is not null)
            {
                return Format == "csv";
            }

            if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted))
            {
                return false;
            }

            // CSV when the client ranks it at least as high as anything JSON would satisfy (q-values, RFC 9110 12.5.1).
            var csv = HighestQuality(accepted, "text/csv");
            var json = Math.Max(HighestQuality(accepted, "application/json"), Math.Max(HighestQuality(accepted, "application/*"), HighestQuality(accepted, "*/*")));
            return csv > 0 && csv >= json;
        }

        private static double HighestQuality(IList<MediaTypeHeaderValue> accepted, string mediaType) =>
            accepted.Where(a => a.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase)).Select(a => a.Quality ?? 1).DefaultIfEmpty(0).Max();

        private static readonly DateOnly EarliestDate = new(2000, 1, 1);
        private static readonly DateOnly LatestDate = new(2199, 12, 31);

        private static DateOnly? ParseDate(IQueryCollection query, string name, Dictionary<string, string[]> errors)
        {
            var raw = query[name].ToString();
            if (raw.Length == 0)
            {
                return null;
            }

            if (!DateOnly.TryParseExact(raw, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                errors[name] = [$"{name} must be a date in the form yyyy-MM-dd."];
                return null;
            }

            // Whole months around the range are computed from these dates; at the ends of DateOnly that would overflow.
            if (date < EarliestDate || date > LatestDate)
            {
                errors[name] = [$"{name} must be between {EarliestDate:yyyy-MM-dd} and {LatestDate:yyyy-MM-dd}."];
                return null;
            }

            return date;
        }
    }
}
