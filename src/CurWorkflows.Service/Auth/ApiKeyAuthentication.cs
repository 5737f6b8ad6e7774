using System.Security.Claims;
using System.Text.Encodings.Web;
using CurWorkflows.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Auth;

public static class ApiKeyDefaults
{
    public const string Scheme = "ApiKey";
    public const string OrganizationIdClaim = "cur:organization_id";
    public const string KeyIdClaim = "cur:key_id";
}

public static class ClaimsPrincipalExtensions
{
    /// <summary>The caller's organization; every query is scoped to it.</summary>
    public static Guid OrganizationId(this ClaimsPrincipal principal) =>
        Guid.Parse(principal.FindFirstValue(ApiKeyDefaults.OrganizationIdClaim)
            ?? throw new InvalidOperationException("The request is not authenticated with an organization API key."));
}

/// <summary>
/// <c>Authorization: Bearer cwk_...</c>: finds the key row by its public key id and compares the SHA-256 of the
/// presented key with the stored hash in constant time. Revoked keys fail like unknown ones.
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IDbContextFactory<CurWorkflowsDbContext> contexts)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = BearerToken(Request.Headers.Authorization.ToString());
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        var keyId = ApiKeyFormat.TryGetKeyId(presented);
        if (keyId is null)
        {
            return AuthenticateResult.Fail("Malformed API key.");
        }

        await using var db = await contexts.CreateDbContextAsync(Context.RequestAborted);
        var stored = await db.ApiKeys.AsNoTracking()
            .Where(k => k.KeyId == keyId && k.RevokedAt == null)
            .Select(k => new { k.OrganizationId, k.SecretHash })
            .FirstOrDefaultAsync(Context.RequestAborted);
        if (stored is null || !ApiKeyFormat.Matches(presented, stored.SecretHash))
        {
            LogRejected(Logger, keyId);
            return AuthenticateResult.Fail("Unknown or revoked API key.");
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(ApiKeyDefaults.OrganizationIdClaim, stored.OrganizationId.ToString()),
                new Claim(ApiKeyDefaults.KeyIdClaim, keyId),
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected API key {KeyId}")]
    private static partial void LogRejected(ILogger logger, string keyId);
}
