import { ApiError } from '../errors/api-error.ts';
import type {
  ErrorResponse,
  InfoResponse,
  LeaseHeartbeatResponse,
  LeaseReleaseResponse,
  LeaseRequest,
  LeaseResponse,
  OwnerCreditResponse,
  OwnerLinkRequest,
  OwnerLinkResponse,
  ResultRequest,
  ResultResponse,
  RevokeSessionRequest,
  RevokeSessionResponse,
  SessionRequest,
  SessionResponse,
} from '../protocol/schemas.ts';

/**
 * The coordinator's `/v1` API from the browser. Every failure becomes an `ApiError` whose
 * `retryable` says whether to try again later (network, 429, 5xx) or to give up (4xx).
 */
export class CoordinatorClient {
  constructor(readonly baseUrl: string) {}

  info(): Promise<InfoResponse> {
    return this.request('GET', '/v1/info');
  }

  createSession(body: SessionRequest): Promise<SessionResponse> {
    return this.request('POST', '/v1/sessions', body);
  }

  lease(body: LeaseRequest): Promise<LeaseResponse> {
    return this.request('POST', '/v1/leases', body);
  }

  /** Keeps a lease while its unit runs: the coordinator moves its deadline on (up to a bound). */
  heartbeat(lease: string, session: string): Promise<LeaseHeartbeatResponse> {
    return this.request('POST', `/v1/leases/${lease}/heartbeat`, { session });
  }

  /** Gives a lease back before its deadline, so its unit goes to someone else at once. */
  releaseLease(lease: string, session: string): Promise<LeaseReleaseResponse> {
    return this.request('POST', `/v1/leases/${lease}/release`, { session });
  }

  submitResult(body: ResultRequest): Promise<ResultResponse> {
    return this.request('POST', '/v1/results', body);
  }

  ownerCredit(owner: string): Promise<OwnerCreditResponse> {
    return this.request('GET', `/v1/owners/${owner}`);
  }

  revokeSession(session: string, body: RevokeSessionRequest): Promise<RevokeSessionResponse> {
    return this.request('POST', `/v1/sessions/${session}/revoke`, body);
  }

  linkOwner(owner: string, body: OwnerLinkRequest): Promise<OwnerLinkResponse> {
    return this.request('POST', `/v1/owners/${owner}/link`, body);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (cause) {
      throw new ApiError(0, 'SURGE_E_NETWORK', `The coordinator at ${url.origin} could not be reached.`, { cause });
    }
    if (response.ok) return (await response.json()) as T;
    const answer = (await response.json().catch(() => undefined)) as ErrorResponse | undefined;
    throw new ApiError(
      response.status,
      answer?.error?.code ?? 'SURGE_E_HTTP',
      answer?.error?.message ?? `The coordinator answered ${method} ${path} with HTTP ${response.status}.`,
    );
  }
}
