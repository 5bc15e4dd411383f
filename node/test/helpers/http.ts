/**
 * Raw HTTP requests for the node's API tests: the shared helper of the cross-package tests
 * (http.request, so Host and Origin can be forged), with no token unless given and no
 * Accept header unless set.
 */
import { apiRequest, type ApiRequest, type ApiResponse } from './api.ts'

export type RawResponse = ApiResponse
export type RawRequest = Omit<ApiRequest, 'token'> & { token?: string | null }

export function raw (req: RawRequest): Promise<RawResponse> {
  return apiRequest({ ...req, token: req.token ?? null, headers: { accept: null, ...req.headers } })
}
