using System.Text.Json;
using CurWorkflows.Aws;
using CurWorkflows.Cur;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace CurWorkflows.Service.Extensions;

/// <summary>What each stable error code tells the customer to check (mirrors the product doc's troubleshooting).</summary>
public static class ErrorAdvice
{
    public static string For(string code) => code switch
    {
        CurErrorCodes.AccessDenied =>
            "The IAM role could not be assumed with this external ID, or the bucket refused access. Check that the role's trust " +
            "policy names the Massdriver AWS account ID (the module's massdriver_aws_account_id variable) and the external ID " +
            "from the module's output, then re-apply the OpenTofu module.",
        CurErrorCodes.BucketNotFound =>
            "The S3 bucket does not exist or the IAM role lacks s3:ListBucket permission on it. Check that the OpenTofu module " +
            "was applied successfully and that bucket_name is the module's bucket_name output.",
        CurErrorCodes.ReportNotFound =>
            "No Cost and Usage Report was found under the configured report prefix and name yet. AWS takes up to 24 hours to " +
            "deliver the first report; the integration looks again at its next daily collection, or at once on a refresh " +
            "(POST /api/v1/integrations/{id}/refresh).",
        CurErrorCodes.ReportMalformed =>
            "A report file could not be read. Check that the report is CSV with ZIP or GZIP compression as the module configures it.",
        CurErrorCodes.Transient =>
            "AWS or the database did not answer in time. Try again shortly.",
        _ => "An unexpected error occurred.",
    };

    public static int StatusFor(string code) => code switch
    {
        CurErrorCodes.Transient => StatusCodes.Status503ServiceUnavailable,
        CurErrorCodes.AccessDenied or CurErrorCodes.BucketNotFound or CurErrorCodes.ReportNotFound or CurErrorCodes.ReportMalformed
            => StatusCodes.Status422UnprocessableEntity,
        _ => StatusCodes.Status500InternalServerError,
    };
}

public static class Problems
{
    /// <summary>
    /// Gives every problem answer a stable <c>error</c>, as the coded ones have: a client branches on it, not on the
    /// title's wording. Set where no code was given, by the HTTP status (validation, authentication, routing, body).
    /// </summary>
    public static void AddErrorCode(ProblemDetails problem)
    {
        if (problem.Extensions.ContainsKey("error"))
        {
            return;
        }

        var code = problem.Status switch
        {
            StatusCodes.Status400BadRequest => "invalid_request",
            StatusCodes.Status401Unauthorized => "unauthorized",
            StatusCodes.Status403Forbidden => "forbidden",
            StatusCodes.Status404NotFound => "not_found",
            StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
            StatusCodes.Status413PayloadTooLarge => "request_too_large",
            StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
            StatusCodes.Status500InternalServerError => "internal_error",
            _ => null,
        };
        if (code is not null)
        {
            problem.Extensions["error"] = code;
        }
    }

    /// <summary>A 400 naming the rejected fields.</summary>
    public static ValidationProblemDetails Validation(IDictionary<string, string[]> errors) => new(errors)
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "The request has invalid fields.",
        Detail = "Fields: " + string.Join(", ", errors.Keys.Order(StringComparer.Ordinal)) + ".",
    };

    public static IResult ValidationResult(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(Validation(errors));

    public static IResult ValidationResult(string field, string message) =>
        ValidationResult(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>A 503 <c>transient</c> whose cause is the service's own AWS credentials, which the caller cannot fix.</summary>
    public static ProblemDetails PlatformCredentials()
    {
        var problem = ForCode(CurErrorCodes.Transient);
        problem.Detail = "The service's own AWS credentials (not your IAM role) are missing or were refused by AWS, so it " +
            "cannot assume roles. The service's operator must fix them; then try again.";
        return problem;
    }

    public static ProblemDetails TemporalUnavailable()
    {
        var problem = ForCode(CurErrorCodes.Transient);
        problem.Detail = "The workflow service (Temporal) did not answer. What the request stored is kept; try again shortly.";
        return problem;
    }

    /// <summary>A 503 <c>transient</c> whose cause is the Temporal namespace's set-up, which the service's operator fixes.</summary>
    public static ProblemDetails TemporalNotSetUp(string advice)
    {
        var problem = ForCode(CurErrorCodes.Transient);
        problem.Detail = "The workflow service (Temporal) is not set up for this service. What the request stored is kept; " +
            "the service's operator must fix it, then enable again. " + advice;
        return problem;
    }

    public static ProblemDetails DatabaseUnavailable()
    {
        var problem = ForCode(CurErrorCodes.Transient);
        problem.Detail = "The service's database did not answer. Nothing was changed by this request; try again shortly.";
        return problem;
    }

    /// <summary>A 409 whose title and <c>error</c> are <paramref name="code"/>.</summary>
    public static ProblemDetails Conflict(string code, string detail) => new()
    {
        Status = StatusCodes.Status409Conflict,
        Title = code,
        Detail = detail,
        Extensions = { ["error"] = code },
    };

    public static ProblemDetails ForCode(string code, string? title = null) => new()
    {
        Status = ErrorAdvice.StatusFor(code),
        Title = title ?? code,
        Detail = ErrorAdvice.For(code),
        Extensions = { ["error"] = code },
    };
}

/// <summary>
/// Turns exceptions into RFC 9457 responses: CurException by its code; malformed JSON into a 400 naming the field;
/// an oversized body into 413. Messages of CurExceptions are not passed through: they may quote AWS responses.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = exception switch
        {
            PlatformCredentialsException => Problems.PlatformCredentials(),
            CurException cur => Problems.ForCode(cur.Code),
            // Temporal down or unreachable: the enable, refresh or disable is to be tried again, not a bug of ours.
            CurWorkflows.Workflows.TemporalUnavailableException => Problems.TemporalUnavailable(),
            CurWorkflows.Workflows.TemporalNotSetUpException notSetUp => Problems.TemporalNotSetUp(notSetUp.Message),
            _ when IsDatabaseUnavailable(exception) => Problems.DatabaseUnavailable(),
            Integrations.RoleInUseException => Problems.Conflict(
                Integrations.RoleInUseException.Code,
                "This IAM role is connected to another organization's integration (enabled or disabled). A role is " +
                "one organization's: to move it here, disable and delete the integration in the other organization " +
                "(DELETE /api/v1/integrations/{id}, which deletes its cost data too), or ask the service's operator to."),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "The request body is too large.",
            },
            BadHttpRequestException { InnerException: JsonException json } => Problems.Validation(
                new Dictionary<string, string[]> { [FieldOf(json.Path)] = [$"{FieldOf(json.Path)} has the wrong type or the body is not valid JSON."] }),
            BadHttpRequestException bad when BoundParameterOf(bad) is { } parameter => Problems.Validation(
                new Dictionary<string, string[]> { [parameter] = [$"{parameter} has the wrong type."] }),
            BadHttpRequestException bad => Problems.Validation(
                new Dictionary<string, string[]> { ["body"] = [SafeBadRequestMessage(bad)] }),
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }

        if (exception is CurException { Code: var code })
        {
            LogCurException(logger, code, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return await problemDetails.TryWriteAsync(new()
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    /// <summary>
    /// A database error its provider calls transient (a refused or lost connection, a timeout, SQLite busy), anywhere in
    /// the chain: EF Core and the authentication handler wrap it. A constraint violation or a bad statement is not
    /// transient and stays a 500.
    /// </summary>
    private static bool IsDatabaseUnavailable(Exception exception) =>
        ExceptionChain.Of(exception).Any(e => e is System.Data.Common.DbException { IsTransient: true });

    // "$.bucket_name" -> "bucket_name"; "$" or nothing -> "body".
    private static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        var field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return field.Length is > 0 and <= 64 ? field : "body";
    }

    /// <summary>The parameter a query or route value failed to bind to (<c>Failed to bind parameter "int? limit" from "abc".</c>).</summary>
    private static string? BoundParameterOf(BadHttpRequestException exception) =>
        BindFailure().Match(exception.Message) is { Success: true } match ? match.Groups["name"].Value : null;

    [System.Text.RegularExpressions.GeneratedRegex("^Failed to bind parameter \"[^\"]* (?<name>[A-Za-z_][A-Za-z0-9_]{0,63})\" from ")]
    private static partial System.Text.RegularExpressions.Regex BindFailure();

    private static string SafeBadRequestMessage(BadHttpRequestException exception) =>
        exception.Message.Contains("body", StringComparison.OrdinalIgnoreCase)
            ? "The request body is missing or is not valid JSON."
            : "The request is malformed.";

    [LoggerMessage(Level = LogLevel.Information, Message = "Request to {Path} failed with {Code}")]
    private static partial void LogCurException(ILogger logger, string code, PathString path);
}
