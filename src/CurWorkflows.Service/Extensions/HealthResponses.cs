using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CurWorkflows.Service.Extensions;

internal static class HealthResponses
{
    /// <summary>Status per check, without exception details.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
