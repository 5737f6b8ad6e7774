using System.Security.Claims;
using System.Text.Encodings.Web;
using CurWorkflows.Storage.Stores;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Auth;

public static class ApiKeyDefaults
{
    public const string Scheme = "ApiKey";
    public const string OrganizationIdClaim = "cur:organization_id";
}

public static class ClaimsPrincipalExtensions
{
    /// <summary>The caller's organization; every query is scoped to it.</summary>
    public static Guid OrganizationId(this ClaimsPrincipal principal) =>
        Guid.Parse(principal.FindFirstValue(ApiKeyDefaults.OrganizationIdClaim)
            ?? throw new InvalidOperationException("The request is not authenticated with an organization API key."));
}

/// <summary>
/// <c>Authorization: Bearer cwk_...</c>, checked by the storage's organization store (key row found by its public key
/// id, SHA-256 of the presented key compared with the stored hash in constant time). Revoked keys fail like unknown ones.
/// A verified key is trusted for <c>Api:ApiKeyCacheSeconds</c> (<see cref="ApiKeyCache"/>).
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    OrganizationStore organizations,
    ApiKeyCache cache)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = BearerToken(Request.Headers.Authorization.ToString());
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        Guid? organizationId = null;
        var fingerprint = cache.Enabled ? ApiKeyCache.Fingerprint(presented) : null;
        if (fingerprint is not null && cache.TryGet(fingerprint, out var cached))
        {
            organizationId = cached;
        }
        else
        {
            var generation = cache.Generation;
            organizationId = await organizations.AuthenticateAsync(presented, Context.RequestAborted);
            if (organizationId is null)
            {
                LogRejected(Logger);
                return AuthenticateResult.Fail("Unknown, revoked or malformed API key.");
            }

            if (fingerprint is not null)
            {
                cache.Add(fingerprint, organizationId.Value, generation);
            }
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(ApiKeyDefaults.OrganizationIdClaim, organizationId.Value.ToString()),
            ],
            ApiKeyDefaults.Scheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyDefaults.Scheme));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    internal static string? BearerToken(string header)
    {
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header.Length > prefix.Length
            ? header[prefix.Length..].Trim()
            : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected an API key")]
    private static partial void LogRejected(ILogger logger);
}
