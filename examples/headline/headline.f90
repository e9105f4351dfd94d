! The old tool's example, jrl,ijr,ijrk,ijrl,ikmn->imn, from Fortran through
! the einstream module (bindings/fortran).
!
!   headline_fortran [small|full] [OUTPUT.raw]
!
! small (the default, for CI) or the example's full size (12.3 GB of real(4)
! input), as examples/headline/headline.c. Arrays are declared with their
! modes in the expression's order, a(j, r, l) for jrl, and einstream reads
! them column-major where they are. Element (j, r, l) holds the hash of its
! C-order position that headline.c and check.py use, so all three agree.
! OUTPUT.raw receives out(i, m, n) as stored (column-major real(4)), which
! check.py compares with numpy.einsum. The program checks three values of i
! against a factorized double-precision loop and stops with an error above
! 1e-5 (relative to the largest element).
program headline
  use, intrinsic :: iso_fortran_env, only: int64, real64
  use einstream
  implicit none
  integer(int64) :: ni, nj, nr, nk, nl, nm, nn
  real(4), allocatable, target :: jrl(:, :, :), ijr(:, :, :), ijrk(:, :, :, :), ijrl(:, :, :, :)
  real(4), allocatable, target :: ikmn(:, :, :, :), out(:, :, :)
  character(len=16) :: size_name
  character(len=512) :: output_path
  character(len=:), allocatable :: message
  integer :: status, unit
  integer(int64) :: start, finish, rate, rows(3), row
  real(real64) :: seconds, gigabytes, largest_error, largest_value, error

  size_name = 'small'
  if (command_argument_count() >= 1) call get_command_argument(1, size_name)
  if (size_name == 'full') then
    ni = 500; nj = 1000; nr = 3; nk = 1024; nl = 1024; nm = 9; nn = 9
  else if (size_name == 'small') then
    ni = 6; nj = 20; nr = 3; nk = 16; nl = 12; nm = 5; nn = 4
  else
    error stop 'usage: headline_fortran [small|full] [OUTPUT.raw]'
  end if

  allocate(jrl(nj, nr, nl), ijr(ni, nj, nr), ijrk(ni, nj, nr, nk), ijrl(ni, nj, nr, nl))
  allocate(ikmn(ni, nk, nm, nn), out(ni, nm, nn))
  call fill3(jrl, 0)
  call fill3(ijr, 1)
  call fill4(ijrk, 2)
  call fill4(ijrl, 3)
  call fill4(ikmn, 4)
  gigabytes = 4d-9 * real(size(jrl, kind=int64) + size(ijr, kind=int64) + size(ijrk, kind=int64) &
                          + size(ijrl, kind=int64) + size(ikmn, kind=int64), real64)

  call system_clock(start, rate)
  call einstream_einsum('jrl,ijr,ijrk,ijrl,ikmn->imn', &
                        [einstream_tensor(jrl), einstream_tensor(ijr), einstream_tensor(ijrk), &
                         einstream_tensor(ijrl), einstream_tensor(ikmn)], &
                        einstream_tensor(out), status, message)
  call system_clock(finish)
  if (status /= einstream_ok) then
    print '(2a)', 'headline_fortran: ', message
    error stop 1
  end if
  seconds = real(finish - start, real64) / real(rate, real64)
  print '(a, a, a, f7.3, a, f6.3, a, f7.2, a)', 'headline_fortran (', trim(size_name), '): ', &
    gigabytes, ' GB of input in ', seconds, ' s (', gigabytes / seconds, ' GB/s)'

  largest_error = 0
  largest_value = 0
  rows = [1_int64, ni / 2 + 1, ni]
  do row = 1, 3
    call check_row(rows(row))
  end do
  error = largest_error / max(largest_value, tiny(1d0))
  print '(a, es9.2, a)', 'headline_fortran: error ', error, &
    ' against a factorized double-precision loop (three rows of i)'

  if (command_argument_count() >= 2) then
    call get_command_argument(2, output_path)
    open(newunit=unit, file=trim(output_path), access='stream', form='unformatted', &
         status='replace', action='write')
    write(unit) out
    close(unit)
  end if
  ! The main program's variables are never freed by the runtime (they are
  ! saved): free them, so a leak checker sees none.
  deallocate(jrl, ijr, ijrk, ijrl, ikmn, out)
  if (allocated(message)) deallocate(message)
  if (error > 1d-5) error stop 'headline_fortran: the result is off'

contains

  ! The element at C-order position p of operand t, as headline.c computes it.
  pure real(4) function value_at(t, p)
    integer, intent(in) :: t
    integer(int64), intent(in) :: p
    integer(int64) :: hash
    hash = iand(p * 2654435761_int64 + 40503_int64 * t, 4294967295_int64)
    value_at = real(mod(hash, 2001_int64) - 1000_int64, 4) / 1000.0
  end function value_at

  subroutine fill3(a, t)
    real(4), intent(out) :: a(:, :, :)
    integer, intent(in) :: t
    integer(int64) :: x, y, z, n2, n3
    n2 = size(a, 2, kind=int64)
    n3 = size(a, 3, kind=int64)
    do z = 1, n3
      do y = 1, n2
        do x = 1, size(a, 1, kind=int64)
          a(x, y, z) = value_at(t, ((x - 1) * n2 + (y - 1)) * n3 + (z - 1))
        end do
      end do
    end do
  end subroutine fill3

  subroutine fill4(a, t)
    real(4), intent(out) :: a(:, :, :, :)
    integer, intent(in) :: t
    integer(int64) :: x, y, z, w, n2, n3, n4
    n2 = size(a, 2, kind=int64)
    n3 = size(a, 3, kind=int64)
    n4 = size(a, 4, kind=int64)
    do w = 1, n4
      do z = 1, n3
        do y = 1, n2
          do x = 1, size(a, 1, kind=int64)
            a(x, y, z, w) = value_at(t, (((x - 1) * n2 + (y - 1)) * n3 + (z - 1)) * n4 + (w - 1))
          end do
        end do
      end do
    end do
  end subroutine fill4

  ! out(i, :, :) = sum_k ikmn(i,k,:,:) T(k), T(k) = sum_{j,r} ijr ijrk S(j,r),
  ! S(j,r) = sum_l jrl ijrl.
  subroutine check_row(i)
    integer(int64), intent(in) :: i
    real(real64) :: t_of_k(nk), s, want
    integer(int64) :: j, r, k, m, n
    t_of_k = 0
    do r = 1, nr
      do j = 1, nj
        s = sum(real(jrl(j, r, :), real64) * real(ijrl(i, j, r, :), real64))
        t_of_k = t_of_k + s * real(ijr(i, j, r), real64) * real(ijrk(i, j, r, :), real64)
      end do
    end do
    do n = 1, nn
      do m = 1, nm
        want = 0
        do k = 1, nk
          want = want + t_of_k(k) * real(ikmn(i, k, m, n), real64)
        end do
        largest_error = max(largest_error, abs(real(out(i, m, n), real64) - want))
        largest_value = max(largest_value, abs(want))
      end do
    end do
  end subroutine check_row

end program headline
